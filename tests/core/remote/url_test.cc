#include "core/remote/url.h"

#include <gtest/gtest.h>

namespace npzfs::core {
namespace {

TEST(RemoteUrlTest, RemoteNamesAreUrlsOfThreeSchemesInAnyCase) {
  EXPECT_TRUE(IsRemoteName("https://h/a.npz"));
  EXPECT_TRUE(IsRemoteName("HTTP://h/a.npz"));
  EXPECT_TRUE(IsRemoteName("S3://b/k"));
  EXPECT_FALSE(IsRemoteName("./https://x"));
  EXPECT_FALSE(IsRemoteName("ftp://h/a.npz"));
  EXPECT_FALSE(IsRemoteName("a.npz"));
}

TEST(RemoteUrlTest, RedactionDropsUserInformationQueryAndFragment) {
  EXPECT_EQ(RedactUrl("https://user:secret@host:8443/a/b.npz?X-Amz-Signature=abc#frag"),
            "https://host:8443/a/b.npz");
  EXPECT_EQ(RedactUrl("http://host/a.npz"), "http://host/a.npz");
  // An '@' in the path is not user information.
  EXPECT_EQ(RedactUrl("http://host/a@b.npz"), "http://host/a@b.npz");
  EXPECT_EQ(RedactUrl("http://u:p@host?sig=1"), "http://host");
}

TEST(RemoteUrlTest, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("a b/c~d.e_f-g", true), "a%20b/c~d.e_f-g");
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(UriEncode("\xc3\xa9+=", true), "%C3%A9%2B%3D");
}

TEST(RemoteUrlTest, ParsesHttpAndS3Names) {
  auto h = ParseRemoteName("https://u:p@host/x.npz?sig=2");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->kind, RemoteName::Kind::kHttp);
  EXPECT_EQ(h->url, "https://u:p@host/x.npz?sig=2");
  EXPECT_EQ(h->shown, "https://host/x.npz");

  auto s = ParseRemoteName("s3://bucket/dir/a b.npz");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->kind, RemoteName::Kind::kS3);
  EXPECT_EQ(s->bucket, "bucket");
  EXPECT_EQ(s->key, "dir/a b.npz");
}

TEST(RemoteUrlTest, BadNamesAreRefusedWithoutTheirSecrets) {
  for (const char* bad : {"s3://bucket", "s3://bucket/", "s3:///key", "http://", "http://u:p@/x",
                          "http://host/a\nb", "https://host/a b"}) {
    auto r = ParseRemoteName(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << bad;
  }
  auto r = ParseRemoteName("http://user:hunter2@/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
}

TEST(RemoteUrlTest, S3RequestUrlsAreVirtualHostedOnAwsAndPathStyleAtAnEndpoint) {
  auto name = ParseRemoteName("s3://my-bucket/d/a b.npz");
  ASSERT_TRUE(name);
  S3Location aws;
  aws.region = "eu-west-1";
  EXPECT_EQ(*S3RequestUrl(*name, aws), "https://my-bucket.s3.eu-west-1.amazonaws.com/d/a%20b.npz");
  aws.addressing = S3Location::Addressing::kPath;
  EXPECT_EQ(*S3RequestUrl(*name, aws), "https://s3.eu-west-1.amazonaws.com/my-bucket/d/a%20b.npz");

  S3Location local;
  local.endpoint = "http://127.0.0.1:7480/";
  EXPECT_EQ(*S3RequestUrl(*name, local), "http://127.0.0.1:7480/my-bucket/d/a%20b.npz");
  local.addressing = S3Location::Addressing::kVirtual;
  EXPECT_EQ(*S3RequestUrl(*name, local), "http://my-bucket.127.0.0.1:7480/d/a%20b.npz");

  // A bucket with dots cannot be a host label: path style on AWS too.
  auto dotted = ParseRemoteName("s3://a.b/k");
  ASSERT_TRUE(dotted);
  EXPECT_EQ(*S3RequestUrl(*dotted, S3Location{}), "https://s3.us-east-1.amazonaws.com/a.b/k");

  for (const char* bad : {"ftp://h", "http://h/path", "http://", "http://h\n"}) {
    S3Location where;
    where.endpoint = bad;
    EXPECT_FALSE(S3RequestUrl(*name, where)) << bad;
  }
}

}  // namespace
}  // namespace npzfs::core
