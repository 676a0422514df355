using Gatehouse.Storage.Decisions;
using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Gatehouse.Storage;

/// <summary>The Gatehouse database: servers, grants, keys, policies, audit trail, decision log.</summary>
public sealed class GatehouseDbContext(DbContextOptions<GatehouseDbContext> options) : DbContext(options)
{
    /// <summary>Registered upstream servers.</summary>
    public DbSet<ServerRecord> Servers => Set<ServerRecord>();

    /// <summary>Grants.</summary>
    public DbSet<GrantRecord> Grants => Set<GrantRecord>();

    /// <summary>Servers covered by each grant.</summary>
    public DbSet<GrantServerRecord> GrantServers => Set<GrantServerRecord>();

    /// <summary>Wrapped data keys of the vault.</summary>
    public DbSet<DataKeyRecord> DataKeys => Set<DataKeyRecord>();

    /// <summary>Admin API credentials.</summary>
    public DbSet<AdminCredentialRecord> AdminCredentials => Set<AdminCredentialRecord>();

    /// <summary>The configuration revision counter.</summary>
    public DbSet<ConfigRevisionRecord> ConfigRevisions => Set<ConfigRevisionRecord>();

    /// <summary>Admin audit trail.</summary>
    public DbSet<AuditEventRecord> AuditEvents => Set<AuditEventRecord>();

    /// <summary>Named policies (current version).</summary>
    public DbSet<PolicyRecord> Policies => Set<PolicyRecord>();

    /// <summary>Every stored version of every policy.</summary>
    public DbSet<PolicyVersionRecord> PolicyVersions => Set<PolicyVersionRecord>();

    /// <summary>The decision log: one row per request decided on.</summary>
    public DbSet<DecisionLogRecord> Decisions => Set<DecisionLogRecord>();

    /// <summary>Client registrations at upstream authorization servers.</summary>
    public DbSet<OAuthClientRecord> OAuthClients => Set<OAuthClientRecord>();

    /// <summary>Upstream OAuth connections (the token vault), keyed by (server, owner).</summary>
    public DbSet<UpstreamConnectionRecord> UpstreamConnections => Set<UpstreamConnectionRecord>();

    /// <summary>Authorizations in progress.</summary>
    public DbSet<OAuthPendingFlowRecord> OAuthPendingFlows => Set<OAuthPendingFlowRecord>();

    /// <summary>Gateway-wide settings.</summary>
    public DbSet<GatewaySettingRecord> Settings => Set<GatewaySettingRecord>();

    /// <summary>People who sign in to Gatehouse (the bootstrap admin; identity-provider users).</summary>
    public DbSet<UserRecord> Users => Set<UserRecord>();

    /// <summary>Signing and encryption keys of Gatehouse's authorization server (sealed).</summary>
    public DbSet<AuthorizationServerKeyRecord> AuthorizationServerKeys => Set<AuthorizationServerKeyRecord>();

    /// <summary>Policies attached to identity-provider groups.</summary>
    public DbSet<GroupPolicyRecord> GroupPolicies => Set<GroupPolicyRecord>();

    /// <summary>Data-protection keys (login cookies, antiforgery), sealed.</summary>
    public DbSet<DataProtectionKeyRecord> DataProtectionKeys => Set<DataProtectionKeyRecord>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        // OpenIddict's applications (inbound client registrations), authorizations (remembered consents), scopes and tokens.
        modelBuilder.UseOpenIddict();
        modelBuilder.Entity<UserRecord>(e =>
        {
            e.ToTable("users");
            e.HasKey(u => u.Id);
            e.HasIndex(u => new { u.Issuer, u.ExternalSubject }).IsUnique();
            e.Property(u => u.Kind).HasMaxLength(32);
            e.Property(u => u.Issuer).HasMaxLength(2048);
            e.Property(u => u.ExternalSubject).HasMaxLength(256);
            e.Property(u => u.DisplayName).HasMaxLength(256);
            e.Property(u => u.Email).HasMaxLength(320);
            e.Property(u => u.PolicyName).HasMaxLength(63);
        });
        modelBuilder.Entity<GroupPolicyRecord>(e =>
        {
            e.ToTable("group_policies");
            e.HasKey(g => g.Group);
            e.Property(g => g.Group).HasMaxLength(256);
            e.Property(g => g.PolicyName).HasMaxLength(63);
        });
        modelBuilder.Entity<DataProtectionKeyRecord>(e =>
        {
            e.ToTable("data_protection_keys");
            e.HasKey(k => k.Id);
            e.Property(k => k.FriendlyName).HasMaxLength(256);
        });
        modelBuilder.Entity<AuthorizationServerKeyRecord>(e =>
        {
            e.ToTable("authorization_server_keys");
            e.HasKey(k => k.Id);
            e.Property(k => k.Id).HasMaxLength(64);
            e.Property(k => k.Purpose).HasMaxLength(16);
        });
        modelBuilder.Entity<ServerRecord>(e =>
        {
            e.ToTable("servers");
            e.HasKey(s => s.Id);
            e.HasIndex(s => s.Name).IsUnique();
            e.Property(s => s.Name).HasMaxLength(63);
            e.Property(s => s.Url).HasMaxLength(2048);
            e.Property(s => s.Transport).HasMaxLength(32);
            e.Property(s => s.AuthMode).HasMaxLength(32);
            e.Property(s => s.PolicyName).HasMaxLength(63);
        });
        modelBuilder.Entity<GrantRecord>(e =>
        {
            e.ToTable("grants");
            e.HasKey(g => g.Id);
            e.HasIndex(g => g.Label).IsUnique();
            e.HasIndex(g => g.TokenHash).IsUnique();
            e.Property(g => g.Label).HasMaxLength(64);
            e.Property(g => g.TokenHash).HasMaxLength(64);
            e.Property(g => g.PolicyName).HasMaxLength(63);
            e.HasMany(g => g.Servers).WithOne().HasForeignKey(s => s.GrantId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<GrantServerRecord>(e =>
        {
            e.ToTable("grant_servers");
            e.HasKey(s => new { s.GrantId, s.ServerName });
            e.Property(s => s.ServerName).HasMaxLength(63);
        });
        modelBuilder.Entity<DataKeyRecord>(e =>
        {
            e.ToTable("data_keys");
            e.HasKey(k => k.Id);
            e.Property(k => k.Id).HasMaxLength(32);
            e.Property(k => k.MasterKeyId).HasMaxLength(32);
        });
        modelBuilder.Entity<AdminCredentialRecord>(e =>
        {
            e.ToTable("admin_credentials");
            e.HasKey(a => a.Id);
            e.HasIndex(a => a.TokenHash).IsUnique();
            e.Property(a => a.TokenHash).HasMaxLength(64);
        });
        modelBuilder.Entity<ConfigRevisionRecord>(e =>
        {
            e.ToTable("config_revision");
            e.HasKey(r => r.Id);
            e.Property(r => r.Id).ValueGeneratedNever();
            e.HasData(new ConfigRevisionRecord { Id = 1, Revision = 0 });
        });
        modelBuilder.Entity<AuditEventRecord>(e =>
        {
            e.ToTable("audit_events");
            e.HasKey(a => a.Id);
            e.HasIndex(a => a.At);
        });
        modelBuilder.Entity<PolicyRecord>(e =>
        {
            e.ToTable("policies");
            e.HasKey(p => p.Id);
            e.HasIndex(p => p.Name).IsUnique();
            e.Property(p => p.Name).HasMaxLength(63);
        });
        modelBuilder.Entity<PolicyVersionRecord>(e =>
        {
            e.ToTable("policy_versions");
            e.HasKey(v => new { v.PolicyId, v.Version });
            e.Property(v => v.Actor).HasMaxLength(128);
            e.HasOne<PolicyRecord>().WithMany().HasForeignKey(v => v.PolicyId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<DecisionLogRecord>(e =>
        {
            e.ToTable("decisions");
            e.HasKey(d => d.Id);
            e.HasIndex(d => d.At);
            e.HasIndex(d => d.Server);
            e.HasIndex(d => d.PrincipalId);
            e.HasIndex(d => d.Decision);
            e.HasIndex(d => d.Target);
            e.Property(d => d.RequestId).HasMaxLength(DecisionLimits.RequestId);
            e.Property(d => d.PrincipalId).HasMaxLength(DecisionLimits.Principal);
            e.Property(d => d.PrincipalLabel).HasMaxLength(DecisionLimits.Principal);
            e.Property(d => d.Server).HasMaxLength(63);
            e.Property(d => d.Method).HasMaxLength(DecisionLimits.Method);
            e.Property(d => d.Target).HasMaxLength(DecisionLimits.Target);
            e.Property(d => d.Decision).HasMaxLength(16);
            e.Property(d => d.Rule).HasMaxLength(DecisionLimits.Rule);
            e.Property(d => d.PolicyVersion).HasMaxLength(64);
            e.Property(d => d.ErrorCode).HasMaxLength(16);
            e.Property(d => d.Message).HasMaxLength(DecisionLimits.Message);
        });

        modelBuilder.Entity<OAuthClientRecord>(e =>
        {
            e.ToTable("oauth_clients");
            e.HasKey(c => c.Id);
            e.HasIndex(c => new { c.Issuer, c.RedirectUri }).IsUnique();
            e.Property(c => c.Issuer).HasMaxLength(2048);
            e.Property(c => c.RedirectUri).HasMaxLength(2048);
            e.Property(c => c.AuthMethod).HasMaxLength(32);
            e.Property(c => c.Source).HasMaxLength(16);
        });
        modelBuilder.Entity<UpstreamConnectionRecord>(e =>
        {
            e.ToTable("upstream_connections");
            e.HasKey(c => c.Id);
            e.HasIndex(c => new { c.ServerId, c.OwnerKind, c.OwnerId }).IsUnique();
            e.HasOne<ServerRecord>().WithMany().HasForeignKey(c => c.ServerId).OnDelete(DeleteBehavior.Cascade);
            e.Property(c => c.OwnerKind).HasMaxLength(16);
            e.Property(c => c.OwnerId).HasMaxLength(128);
            e.Property(c => c.Status).HasMaxLength(16);
            e.Property(c => c.ClientSource).HasMaxLength(16);
            e.Property(c => c.GrantType).HasMaxLength(32);
            e.Property(c => c.RefreshLeaseHolder).HasMaxLength(64);
            // Every change to the tokens bumps Version; as a concurrency token it turns a lost update (two writers that
            // read the same row) into a DbUpdateConcurrencyException instead of a silently overwritten refresh token.
            e.Property(c => c.Version).IsConcurrencyToken();
        });
        modelBuilder.Entity<OAuthPendingFlowRecord>(e =>
        {
            e.ToTable("oauth_pending_flows");
            e.HasKey(f => f.Id);
            e.HasIndex(f => f.StateHash).IsUnique();
            e.HasIndex(f => f.ExpiresAt);
            e.HasOne<ServerRecord>().WithMany().HasForeignKey(f => f.ServerId).OnDelete(DeleteBehavior.Cascade);
            e.Property(f => f.Id).HasMaxLength(64);
            e.Property(f => f.StateHash).HasMaxLength(64);
            e.Property(f => f.OwnerKind).HasMaxLength(16);
            e.Property(f => f.OwnerId).HasMaxLength(128);
            e.Property(f => f.ReturnPath).HasMaxLength(8192);
            e.Property(f => f.BrowserBindingHash).HasMaxLength(64);
        });

        modelBuilder.Entity<GatewaySettingRecord>(e =>
        {
            e.ToTable("gateway_settings");
            e.HasKey(x => x.Key);
            e.Property(x => x.Key).HasMaxLength(64);
        });

        if (Database.IsSqlite())
        {
            // SQLite has no native date-time type that sorts and compares correctly with offsets; store UTC ticks.
            var converter = new DateTimeOffsetToBinaryConverter();
            foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(t => t.GetProperties())
                         .Where(p => p.ClrType == typeof(DateTimeOffset) || p.ClrType == typeof(DateTimeOffset?)))
            {
                property.SetValueConverter(converter);
            }
        }
    }
}
