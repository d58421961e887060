#include "core/remote/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "tests/support/test_support.h"

namespace npzfs::core {
namespace {

using testing::TempDir;
using testing::WriteFile;

// An environment of its own for each test, with HOME in a temporary
// directory, so that the user's ~/.aws never counts.
class CredentialsTest : public ::testing::Test {
 protected:
  CredentialsTest() { vars_["HOME"] = home_.path(); }

  EnvLookup Env() const {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = vars_.find(name);
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
  }
  void WriteAws(const std::string& file, const std::string& text) {
    ::mkdir(home_.Join(".aws").c_str(), 0700);
    WriteFile(home_.Join(".aws/" + file), text);
  }

  TempDir home_;
  std::map<std::string, std::string> vars_;
};

TEST_F(CredentialsTest, NothingAnywhereMeansAnonymous) {
  auto s = LoadAwsSettings(Env());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->credentials);
  EXPECT_EQ(s->region, "");
  EXPECT_EQ(s->endpoint, "");
}

TEST_F(CredentialsTest, TheEnvironmentComesFirst) {
  WriteAws("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = F\n");
  vars_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  vars_["AWS_SECRET_ACCESS_KEY"] = "ENVSECRET";
  vars_["AWS_SESSION_TOKEN"] = "TOKEN";
  vars_["AWS_DEFAULT_REGION"] = "eu-central-1";
  vars_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9000";
  auto s = LoadAwsSettings(Env());
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->credentials);
  EXPECT_EQ(s->credentials->access_key, "ENVKEY");
  EXPECT_EQ(s->credentials->secret_key, "ENVSECRET");
  EXPECT_EQ(s->credentials->session_token, "TOKEN");
  EXPECT_EQ(s->credentials->from, "the environment");
  EXPECT_EQ(s->region, "eu-central-1");
  EXPECT_EQ(s->endpoint, "http://127.0.0.1:9000");
  vars_["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:9001";
  vars_["AWS_REGION"] = "us-west-2";
  s = LoadAwsSettings(Env());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->endpoint, "http://127.0.0.1:9001");
  EXPECT_EQ(s->region, "us-west-2");
}

TEST_F(CredentialsTest, ProfilesComeFromTheCredentialsFileThenTheConfigFile) {
  WriteAws("credentials",
           "# comment\n[default]\naws_access_key_id = DKEY\naws_secret_access_key = DSECRET\n"
           "[work]\naws_access_key_id=WKEY\naws_secret_access_key=WSECRET\n"
           "aws_session_token = WTOKEN\n");
  WriteAws("config",
           "[default]\nregion = eu-west-3\n[profile work]\nregion = ap-south-1\n"
           "s3 =\n  addressing_style = path\n[profile cfg]\naws_access_key_id = CKEY\n"
           "aws_secret_access_key = CSECRET\n");
  auto s = LoadAwsSettings(Env());
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->credentials);
  EXPECT_EQ(s->credentials->access_key, "DKEY");
  EXPECT_EQ(s->region, "eu-west-3");
  EXPECT_EQ(s->credentials->from.find("DSECRET"), std::string::npos);

  vars_["AWS_PROFILE"] = "work";
  s = LoadAwsSettings(Env());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->credentials->access_key, "WKEY");
  EXPECT_EQ(s->credentials->session_token, "WTOKEN");
  EXPECT_EQ(s->region, "ap-south-1");

  vars_["AWS_PROFILE"] = "cfg";
  s = LoadAwsSettings(Env());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->credentials->access_key, "CKEY");

  vars_["AWS_PROFILE"] = "nowhere";
  s = LoadAwsSettings(Env());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("nowhere"), std::string::npos);
}

TEST_F(CredentialsTest, FilesThatAreNotRegularOrTooLargeAreRefusedWithoutBlocking) {
  ::mkdir(home_.Join(".aws").c_str(), 0700);
  ASSERT_EQ(::mkfifo(home_.Join(".aws/credentials").c_str(), 0600), 0);
  auto s = LoadAwsSettings(Env());  // a FIFO would block a plain read
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("not a regular file"), std::string::npos);

  vars_["AWS_SHARED_CREDENTIALS_FILE"] = home_.Join("big");
  WriteFile(home_.Join("big"), std::string((1 << 20) + 1, '#'));
  s = LoadAwsSettings(Env());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("larger than 1 MiB"), std::string::npos);
}

}  // namespace
}  // namespace npzfs::core
