using Gatehouse.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Gatehouse.Storage;

/// <summary>The Gatehouse database: servers, grants, keys, audit trail.</summary>
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

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ServerRecord>(e =>
        {
            e.ToTable("servers");
            e.HasKey(s => s.Id);
            e.HasIndex(s => s.Name).IsUnique();
            e.Property(s => s.Name).HasMaxLength(63);
            e.Property(s => s.Url).HasMaxLength(2048);
            e.Property(s => s.Transport).HasMaxLength(32);
            e.Property(s => s.AuthMode).HasMaxLength(32);
        });
        modelBuilder.Entity<GrantRecord>(e =>
        {
            e.ToTable("grants");
            e.HasKey(g => g.Id);
            e.HasIndex(g => g.Label).IsUnique();
            e.HasIndex(g => g.TokenHash).IsUnique();
            e.Property(g => g.Label).HasMaxLength(64);
            e.Property(g => g.TokenHash).HasMaxLength(64);
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
