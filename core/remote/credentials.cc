#include "core/remote/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <string_view>

#include "core/base/text.h"
#include "core/base/unique_fd.h"

namespace npzfs::core {
namespace {

constexpr size_t kMaxFileSize = 1 << 20;

using Section = AwsIniSection;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::map<std::string, Section> ParseAwsIni(std::string_view text) {
  std::map<std::string, Section> out;
  Section* current = nullptr;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = &out[std::string(Trim(line.substr(1, line.size() - 2)))];
      continue;
    }
    if (current == nullptr || indented) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    (*current)[std::string(Trim(line.substr(0, eq)))] = std::string(Trim(line.substr(eq + 1)));
  }
  return out;
}

namespace {

// The sections of the file at `path`, none when it does not exist. Only
// a regular file is read (a FIFO would block), and read whole with one
// descriptor, so that errno says what went wrong.
Result<std::map<std::string, Section>> ReadIni(const std::string& path) {
  const std::string shown = Quote(path, Quoting::kWhenNeeded);
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return std::map<std::string, Section>{};
    return Fail(IoError(errno, shown));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail(IoError(errno, shown));
  if (!S_ISREG(st.st_mode)) {
    return Fail(MakeError(Errc::kInvalidArgument, shown + ": not a regular file, not read"));
  }
  std::string text(kMaxFileSize + 1, '\0');
  size_t have = 0;
  while (have < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + have, text.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(IoError(errno, shown));
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  if (have > kMaxFileSize) {
    return Fail(MakeError(Errc::kInvalidArgument, shown + ": larger than 1 MiB, not read"));
  }
  text.resize(have);
  return ParseAwsIni(text);
}

std::optional<AwsCredentials> FromSection(const Section& s, const std::string& from) {
  auto key = s.find("aws_access_key_id");
  auto secret = s.find("aws_secret_access_key");
  if (key == s.end() || secret == s.end() || key->second.empty()) return std::nullopt;
  AwsCredentials c{key->second, secret->second, "", from};
  if (auto token = s.find("aws_session_token"); token != s.end()) c.session_token = token->second;
  return c;
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<AwsSettings> LoadAwsSettings(const EnvLookup& env) {
  AwsSettings out;
  auto nonempty = [&](const char* name) {
    auto v = env(name);
    return v && !v->empty() ? v : std::nullopt;
  };
  const std::string home = nonempty("HOME").value_or("");
  const auto named_profile = nonempty("AWS_PROFILE");
  const std::string profile = named_profile.value_or("default");
  const std::string credentials_file =
      nonempty("AWS_SHARED_CREDENTIALS_FILE").value_or(home + "/.aws/credentials");
  const std::string config_file = nonempty("AWS_CONFIG_FILE").value_or(home + "/.aws/config");

  if (auto ep = nonempty("AWS_ENDPOINT_URL_S3")) {
    out.endpoint = *ep;
  } else if (auto ep2 = nonempty("AWS_ENDPOINT_URL")) {
    out.endpoint = *ep2;
  }

  auto key = nonempty("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  const bool from_env = key && secret;
  if (from_env) {
    out.credentials =
        AwsCredentials{*key, *secret, env("AWS_SESSION_TOKEN").value_or(""), "the environment"};
  }

  // The files are read only when something is still missing.
  bool profile_found = false;
  if (!from_env || (!nonempty("AWS_REGION") && !nonempty("AWS_DEFAULT_REGION"))) {
    auto creds = ReadIni(credentials_file);
    if (!creds) return Fail(std::move(creds).error());
    auto config = ReadIni(config_file);
    if (!config) return Fail(std::move(config).error());
    const std::string config_section = profile == "default" ? "default" : "profile " + profile;
    auto in_creds = creds->find(profile);
    auto in_config = config->find(config_section);
    profile_found = in_creds != creds->end() || in_config != config->end();
    if (!from_env) {
      const std::string shown = "profile " + Quote(profile);
      if (in_creds != creds->end()) {
        out.credentials = FromSection(
            in_creds->second, shown + " in " + Quote(credentials_file, Quoting::kWhenNeeded));
      }
      if (!out.credentials && in_config != config->end()) {
        out.credentials = FromSection(in_config->second,
                                      shown + " in " + Quote(config_file, Quoting::kWhenNeeded));
      }
    }
    if (in_config != config->end()) {
      if (auto r = in_config->second.find("region"); r != in_config->second.end()) {
        out.region = r->second;
      }
    }
  } else {
    profile_found = true;
  }
  if (auto r = nonempty("AWS_REGION")) {
    out.region = *r;
  } else if (auto r2 = nonempty("AWS_DEFAULT_REGION")) {
    out.region = *r2;
  }
  if (named_profile && !from_env && !profile_found) {
    return Fail(MakeError(Errc::kInvalidArgument,
                          "AWS_PROFILE names profile " + Quote(profile) + ", found in neither " +
                              Quote(credentials_file, Quoting::kWhenNeeded) + " nor " +
                              Quote(config_file, Quoting::kWhenNeeded)));
  }
  return out;
}

}  // namespace npzfs::core
