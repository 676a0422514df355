using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Testing.Conformance;

/// <summary>
/// Adds the conformance fixture's primitives and the protocol handlers the scenarios exercise beyond
/// tools (logging/setLevel, completion/complete, resources/subscribe and unsubscribe).
/// </summary>
internal static class ConformanceServer
{
    private static readonly string[] CompletionCandidates = ["paris", "park", "party", "test", "testing", "tested"];

    public static IMcpServerBuilder AddConformancePrimitives(this IMcpServerBuilder builder)
    {
        // test_reconnection watches its POST response complete before it answers.
        builder.Services.AddHttpContextAccessor();

        // Subscriptions keyed by session so one client's unsubscribe never affects another's.
        var subscriptions = new ConcurrentDictionary<string, ConcurrentDictionary<string, byte>>(StringComparer.Ordinal);

        return builder
            .WithTools<ConformanceTools>()
            .WithTools([ConformanceTools.CreateJsonSchemaTool()])
            .WithResources<ConformanceResources>()
            .WithPrompts<ConformancePrompts>()
            .WithSetLoggingLevelHandler((_, _) => ValueTask.FromResult(new EmptyResult()))
            .WithCompleteHandler((context, _) =>
            {
                var prefix = context.Params?.Argument.Value ?? string.Empty;
                var values = context.Params?.Ref is PromptReference { Name: "test_prompt_with_arguments" }
                    ? CompletionCandidates.Where(v => v.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList()
                    : [];
                return ValueTask.FromResult(new CompleteResult
                {
                    Completion = new Completion { Values = values, Total = values.Count, HasMore = false },
                });
            })
            .WithSubscribeToResourcesHandler((context, cancellationToken) =>
            {
                if (context.Params?.Uri is { } uri)
                {
                    subscriptions.GetOrAdd(SessionKey(context.Server.SessionId), _ => new(StringComparer.Ordinal)).TryAdd(uri, 0);
                }

                return ValueTask.FromResult(new EmptyResult());
            })
            .WithUnsubscribeFromResourcesHandler((context, cancellationToken) =>
            {
                if (context.Params?.Uri is { } uri && subscriptions.TryGetValue(SessionKey(context.Server.SessionId), out var set))
                {
                    set.TryRemove(uri, out _);
                }

                return ValueTask.FromResult(new EmptyResult());
            });
    }

    // Requests served statelessly (2026-07-28 clients) have no session; they share one bucket.
    private static string SessionKey(string? sessionId) => sessionId ?? string.Empty;
}
