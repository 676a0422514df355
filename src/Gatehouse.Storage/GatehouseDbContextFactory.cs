using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Gatehouse.Storage;

/// <summary>Lets <c>dotnet ef migrations add</c> build the context at design time (SQLite provider).</summary>
internal sealed class GatehouseDbContextFactory : IDesignTimeDbContextFactory<GatehouseDbContext>
{
    public GatehouseDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<GatehouseDbContext>().UseSqlite("Data Source=design-time.db").Options);
}
