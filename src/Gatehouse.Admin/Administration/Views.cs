namespace Gatehouse.Admin.Administration;

/// <summary>What the CLI and the admin API show of a server. Header values are never shown, only names.</summary>
public sealed record ServerView(
    Guid Id, string Name, string Url, string Transport, string Auth, IReadOnlyList<string> HeaderNames, bool Enabled,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>What the CLI and the admin API show of a grant. The token is never shown here.</summary>
public sealed record GrantView(
    Guid Id, string Label, IReadOnlyList<string> Servers, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RotatedAt);

/// <summary>A grant just created or rotated, with its token: the only time the token is ever available.</summary>
public sealed record IssuedGrant(GrantView Grant, string Token);

/// <summary>What a server is to become (CLI, API and YAML all produce this).</summary>
/// <param name="Name">Slug.</param>
/// <param name="Url">Upstream URL.</param>
/// <param name="Transport">auto, streamable-http or sse.</param>
/// <param name="Headers">Header names and plaintext values to seal; empty means auth mode none.</param>
/// <param name="Enabled">Whether the server accepts requests.</param>
public sealed record ServerSpec(string Name, string Url, string? Transport, IReadOnlyList<KeyValuePair<string, string>> Headers, bool Enabled = true);

/// <summary>What <c>apply</c> did to each object.</summary>
public sealed record ApplyReport(IReadOnlyList<ApplyChange> Changes)
{
    /// <summary>True when nothing changed (the file was already applied).</summary>
    public bool Unchanged => Changes.All(c => c.Action == "unchanged");
}

/// <summary>One object touched by <c>apply</c>.</summary>
public sealed record ApplyChange(string Kind, string Name, string Action);
