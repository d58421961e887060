// AWS credentials and region, looked up where the AWS CLI looks.
#ifndef NPZFS_CORE_REMOTE_CREDENTIALS_H_
#define NPZFS_CORE_REMOTE_CREDENTIALS_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace npzfs::core {

struct AwsCredentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // "" unless temporary credentials
  std::string from;           // where they were found, for messages (no secret in it)
};

struct AwsSettings {
  std::optional<AwsCredentials> credentials;  // none: requests go unsigned
  std::string region;                         // "" when none is set anywhere
  std::string endpoint;                       // AWS_ENDPOINT_URL(_S3), "" when unset
};

// The INI-like files of the AWS CLI: "[section]" lines, "key = value"
// lines, comments from '#' or ';' at the start of a line; nested
// (indented) settings are skipped, and so is anything else. Any text.
using AwsIniSection = std::map<std::string, std::string>;
std::map<std::string, AwsIniSection> ParseAwsIni(std::string_view text);

// Reads a variable of the environment; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
EnvLookup ProcessEnvironment();

// In the AWS CLI's order: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN; else the profile AWS_PROFILE (default "default") in
// AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), then in
// AWS_CONFIG_FILE (~/.aws/config, sections "[profile NAME]" or
// "[default]"). The region: AWS_REGION, AWS_DEFAULT_REGION, then the
// profile's `region` in the config file. Missing files are no error;
// a file that cannot be read, is not a regular file or is larger than 1 MiB, is
// (kIo/kInvalidArgument, naming it). A profile named explicitly in
// AWS_PROFILE that is found nowhere is an error too.
Result<AwsSettings> LoadAwsSettings(const EnvLookup& env);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_CREDENTIALS_H_
