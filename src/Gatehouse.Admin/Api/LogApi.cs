using Gatehouse.Core.Decisions;
using Gatehouse.Storage;
using Gatehouse.Storage.Decisions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Admin.Api;

/// <summary>The read-only log endpoints of the admin API: the decision log and the admin audit trail.</summary>
internal static class LogApi
{
    /// <summary>Maps <c>GET /decisions</c> and <c>GET /audit</c> on the (already authenticated) admin group.</summary>
    public static void MapLogEndpoints(RouteGroupBuilder api, GatehouseStorage storage)
    {
        api.MapGet("/decisions", async (string? server, string? principal, string? decision, string? tool, string? from, string? to, string? before, int? limit, CancellationToken ct) =>
        {
            var now = DateTimeOffset.UtcNow;
            if (decision is { Length: > 0 } && !DecisionKinds.All.Contains(decision))
            {
                return Invalid($"decision must be one of {string.Join(", ", DecisionKinds.All)}.");
            }

            DateTimeOffset? fromTime = null, toTime = null;
            if (from is { Length: > 0 })
            {
                if (!TimeBound.TryParse(from, now, out var parsed, out var problem))
                {
                    return Invalid($"from: {problem}");
                }

                fromTime = parsed;
            }

            if (to is { Length: > 0 })
            {
                if (!TimeBound.TryParse(to, now, out var parsed, out var problem))
                {
                    return Invalid($"to: {problem}");
                }

                toTime = parsed;
            }

            if (ReadPaging(before, limit, out var cursor, out var size) is { } pagingProblem)
            {
                return pagingProblem;
            }

            var query = new DecisionQuery
            {
                Server = server, Principal = principal, Decision = decision, Target = tool, From = fromTime, To = toTime, Before = cursor, Limit = size,
            };
            await using var db = storage.CreateContext();
            return Results.Json(await query.ExecuteAsync(db, ct));
        });

        api.MapGet("/audit", async (string? before, int? limit, CancellationToken ct) =>
        {
            if (ReadPaging(before, limit, out var cursor, out var size) is { } pagingProblem)
            {
                return pagingProblem;
            }

            await using var db = storage.CreateContext();
            return Results.Json(await new AuditQuery { Before = cursor, Limit = size }.ExecuteAsync(db, ct));
        });
    }

    private static IResult? ReadPaging(string? before, int? limit, out long? cursor, out int size)
    {
        size = limit ?? 100;
        if (!DecisionQuery.TryParseCursor(before, out cursor))
        {
            return Invalid("before must be the 'next' value of a previous page.");
        }

        return size is < 1 or > DecisionQuery.MaxLimit ? Invalid($"limit must be between 1 and {DecisionQuery.MaxLimit}.") : null;
    }

    private static IResult Invalid(string message) =>
        Results.Json(new AdminApi.ErrorBody("invalid", message), statusCode: StatusCodes.Status400BadRequest);
}
