using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Identity.Server;

/// <summary>
/// Refuses OAuth requests whose parameters cannot be handled before OpenIddict reads them: a form over the framework's
/// limits (it throws while extracting the request) or a parameter holding a control character (such as <c>nonce=%00</c>,
/// which no OAuth value may contain and which broke later steps). Each gets 400 <c>invalid_request</c> saying why.
/// </summary>
internal static class OAuthRequestGuard
{
    public static async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var request = context.Request;
        IFormCollection? form = null;
        if (request.HasFormContentType)
        {
            try
            {
                // The form is cached on the request, so OpenIddict and the endpoints read this same copy.
                form = await request.ReadFormAsync(context.RequestAborted);
            }
            catch (InvalidDataException problem)
            {
                // FormOptions' limits: more than 1,024 fields, a key or value too long, a body over the form limit.
                await RefuseAsync(context, $"the form could not be read ({problem.Message.TrimEnd('.')}). Send only the OAuth parameters.");
                return;
            }
            catch (Exception e) when (e is BadHttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
            {
                await RefuseAsync(context, "the request body could not be read (broken framing or cut short).");
                return;
            }
        }

        if ((FirstWithControlCharacter(request.Query) ?? (form is null ? null : FirstWithControlCharacter(form))) is { } name)
        {
            await RefuseAsync(context, $"the parameter {name} holds a control character, which no OAuth parameter may contain.");
            return;
        }

        await next();
    }

    private static string? FirstWithControlCharacter(IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> parameters)
    {
        foreach (var (key, values) in parameters)
        {
            var bad = HasControlCharacter(key);
            foreach (var value in values)
            {
                bad |= HasControlCharacter(value);
            }

            if (bad)
            {
                // Name the parameter only when its name is plain, so nothing hostile is echoed.
                return key.Length is > 0 and <= 64 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? $"'{key}'" : "(unnamed)";
            }
        }

        return null;
    }

    private static bool HasControlCharacter(string? text) => text is not null && text.AsSpan().ContainsAnyInRange('\0', '\u001f') || text?.Contains('\u007f') == true;

    private static async Task RefuseAsync(HttpContext context, string why)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["error"] = "invalid_request",
            ["error_description"] = $"The request is invalid: {why}",
        }), context.RequestAborted);
    }
}
