using Microsoft.AspNetCore.Http.Metadata;

namespace Gatehouse.Admin.Api;

/// <summary>
/// The admin API's request body limit (1 MiB, far above any real configuration or policy): routing applies it to every
/// endpoint of the group, and a larger body is refused with 413 while it is read.
/// </summary>
public sealed class AdminBodyLimit : IRequestSizeLimitMetadata
{
    /// <summary>The limit in bytes.</summary>
    public const long Bytes = 1024 * 1024;

    /// <inheritdoc />
    public long? MaxRequestBodySize => Bytes;
}
