#include "core/remote/open_remote.h"

#include "core/remote/url.h"

namespace npzfs::core {

S3Location S3LocationOf(const RemoteSettings& settings, const AwsSettings& aws) {
  S3Location where;
  where.endpoint = !settings.s3_endpoint.empty() ? settings.s3_endpoint : aws.endpoint;
  where.region = !settings.s3_region.empty() ? settings.s3_region
                 : !aws.region.empty()       ? aws.region
                                             : "us-east-1";
  return where;
}

Result<std::unique_ptr<RemoteSource>> OpenRemote(std::string_view name,
                                                 const RemoteSettings& settings,
                                                 const EnvLookup& env) {
  auto parsed = ParseRemoteName(name);
  if (!parsed) return Fail(std::move(parsed).error());
  HttpOptions http = settings.http;
  std::string url = parsed->url;
  if (parsed->kind == RemoteName::Kind::kS3) {
    auto aws = LoadAwsSettings(env);
    if (!aws) return Fail(std::move(aws).error());
    const S3Location where = S3LocationOf(settings, *aws);
    auto request = S3RequestUrl(*parsed, where);
    if (!request) return Fail(std::move(request).error());
    url = std::move(*request);
    http.sign = aws->credentials;
    http.region = where.region;
  }
  auto client = std::make_unique<HttpClient>(std::move(url), parsed->shown, std::move(http));
  return RemoteSource::Open(std::move(client), settings.cache);
}

}  // namespace npzfs::core
