namespace Gatehouse.Storage.Entities;

#pragma warning disable CS1591 // Persistence records mirror the domain types, which carry the documentation.

/// <summary>A registered upstream server.</summary>
public sealed class ServerRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Url { get; set; }
    public required string Transport { get; set; }
    public required string AuthMode { get; set; }

    /// <summary>JSON array of {name, value} where each value is sealed by the vault.</summary>
    public string HeadersJson { get; set; } = "[]";
    public bool Enabled { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The policy applied to this server's requests (by name), if any.</summary>
    public string? PolicyName { get; set; }
}

/// <summary>A grant; the token itself is never stored, only its SHA-256.</summary>
public sealed class GrantRecord
{
    public Guid Id { get; set; }
    public required string Label { get; set; }
    public required string TokenHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public DateTimeOffset? RotatedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public List<GrantServerRecord> Servers { get; set; } = [];

    /// <summary>The policy applied to this grant's requests (by name), if any.</summary>
    public string? PolicyName { get; set; }
}

/// <summary>One server a grant covers (by name: names never change).</summary>
public sealed class GrantServerRecord
{
    public Guid GrantId { get; set; }
    public required string ServerName { get; set; }
}

/// <summary>A data key, stored only wrapped (encrypted) by the master key.</summary>
public sealed class DataKeyRecord
{
    public required string Id { get; set; }

    /// <summary>nonce | ciphertext | tag of the 256-bit data key under the master key.</summary>
    public required byte[] WrappedKey { get; set; }

    /// <summary>Fingerprint of the master key that wrapped it, so a wrong master key is reported as such.</summary>
    public required string MasterKeyId { get; set; }
    public bool Active { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>The admin API credential (hash only).</summary>
public sealed class AdminCredentialRecord
{
    public Guid Id { get; set; }
    public required string TokenHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A single row whose number grows with every configuration change, so gateways know to reload.</summary>
public sealed class ConfigRevisionRecord
{
    public int Id { get; set; }
    public long Revision { get; set; }
}

/// <summary>One admin change: who did what to which object, and when.</summary>
public sealed class AuditEventRecord
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Actor { get; set; }
    public required string Action { get; set; }
    public required string Target { get; set; }
    public string? Details { get; set; }
}

/// <summary>A named policy; <see cref="Document"/> is the source text as the operator wrote it.</summary>
public sealed class PolicyRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public int Version { get; set; }
    public required string Document { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One stored version of a policy, kept so a decision can be traced to the exact text that made it.</summary>
public sealed class PolicyVersionRecord
{
    public Guid PolicyId { get; set; }
    public int Version { get; set; }
    public required string Document { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public required string Actor { get; set; }
}

/// <summary>One stored decision (see <c>Gatehouse.Core.Decisions.DecisionRecord</c>); argument values only when opted in.</summary>
public sealed class DecisionLogRecord
{
    /// <summary>Grows with every insert, so it orders records and serves as the paging cursor.</summary>
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string RequestId { get; set; }
    public required string PrincipalId { get; set; }
    public required string PrincipalLabel { get; set; }
    public required string Server { get; set; }
    public required string Method { get; set; }
    public string? Target { get; set; }
    public required string Decision { get; set; }
    public string? Rule { get; set; }
    public string? PolicyVersion { get; set; }

    /// <summary>JSON array of the top-level argument keys.</summary>
    public string ArgumentKeysJson { get; set; } = "[]";
    public string? ArgumentValuesJson { get; set; }
    public int? UpstreamStatus { get; set; }
    public double LatencyMs { get; set; }
    public string? ErrorCode { get; set; }
    public string? Message { get; set; }
}
