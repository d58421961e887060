// A remote archive name (https://, http://, s3://) opened as a source:
// where S3 objects are and how requests to them are signed, from the
// options and the standard AWS places.
#ifndef NPZFS_CORE_REMOTE_OPEN_REMOTE_H_
#define NPZFS_CORE_REMOTE_OPEN_REMOTE_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/remote/credentials.h"
#include "core/remote/http_client.h"
#include "core/remote/remote_source.h"
#include "core/remote/url.h"

namespace npzfs::core {

struct RemoteSettings {
  std::string s3_endpoint;  // "" : AWS_ENDPOINT_URL(_S3), else AWS itself
  std::string s3_region;    // "" : AWS_REGION, AWS_DEFAULT_REGION, the profile, else us-east-1
  HttpOptions http;         // timeouts, retries, ca_file (sign and region are set here)
  RemoteOptions cache;
};

// Where S3 requests go: the options first, then the AWS settings, else
// AWS itself in us-east-1.
S3Location S3LocationOf(const RemoteSettings& settings, const AwsSettings& aws);

// Opens `name` (IsRemoteName) as a source: its end fetched, its version
// pinned. For s3:// the credentials are looked up as the AWS CLI does
// (`env`); none found means unsigned (anonymous) requests. Errors name the
// URL without its secrets: kInvalidArgument (a bad URL, endpoint or AWS
// file), kNotFound, kIo (EACCES for 401/403 with S3's reason, else EIO).
Result<std::unique_ptr<RemoteSource>> OpenRemote(std::string_view name,
                                                 const RemoteSettings& settings,
                                                 const EnvLookup& env);

}  // namespace npzfs::core

#endif  // NPZFS_CORE_REMOTE_OPEN_REMOTE_H_
