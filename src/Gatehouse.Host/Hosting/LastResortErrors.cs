using System.Text.Json;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Security;
using Gatehouse.Proxy.Errors;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Host.Hosting;

/// <summary>
/// The outermost middleware: an exception that escapes every endpoint becomes a clear JSON answer with a stable code
/// (JSON-RPC on <c>/mcp</c>), never an empty 500 and never a stack trace. Client faults the framework signals by
/// exception (broken chunking, a body over the limit, an unreadable JSON body) keep their 4xx; a master key rotated
/// under a running gateway is a 503 saying to restart it. Everything else is a 500 naming the request id to look up.
/// </summary>
internal static partial class LastResortErrors
{
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
            if (!context.Response.HasStarted && context.Response.StatusCode is 400 or 411 or 413 or 415
                && context.Response.ContentLength is null or 0 && context.Response.ContentType is null && !HttpMethods.IsHead(context.Request.Method))
            {
                // The framework refused the body (too large, unreadable) and wrote nothing: say what it was.
                await WriteAsync(context, BadInputErrors.MalformedRequest(EmptyRefusal(context.Response.StatusCode)) with { HttpStatus = context.Response.StatusCode });
            }
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (whatever the exception says of it); nobody is left to answer.
        }
        catch (Exception exception)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Host.LastResortErrors");
            var error = Classify(exception, context.TraceIdentifier);
            if (error.Id == GatewayErrorId.UnexpectedFailure)
            {
                Failed(logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, context.TraceIdentifier, exception);
            }
            else
            {
                Refused(logger, context.Request.Method, error.Code, error.HttpStatus, exception.GetType().Name);
            }

            if (context.Response.HasStarted)
            {
                // Part of the answer is already out: the only honest thing left is to cut the connection.
                context.Abort();
                return;
            }

            context.Response.Clear();
            await WriteAsync(context, error);
        }
    }

    /// <summary>The answer for an exception that escaped the pipeline.</summary>
    internal static GatewayError Classify(Exception exception, string requestId)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case MasterKeyChangedException:
                    return BadInputErrors.MasterKeyChanged();
                case BadHttpRequestException bad:
                    // Kestrel's and the framework's own messages ("Bad chunk size data.", "Request body too large ...",
                    // "Failed to read parameter ...") name the problem, never a value.
                    return BadInputErrors.MalformedRequest(bad.Message) with { HttpStatus = bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : 400 };
                case InvalidDataException:
                    return BadInputErrors.MalformedRequest("the form exceeds the limits on fields and lengths.");
            }
        }

        return BadInputErrors.UnexpectedFailure(requestId);
    }

    private static string EmptyRefusal(int status) => status switch
    {
        413 => "the body is larger than this endpoint accepts (the admin API takes at most 1 MiB).",
        415 => "the body's Content-Type is not one this endpoint accepts (the admin API takes application/json, policies also YAML).",
        411 => "the request needs a Content-Length or chunked body.",
        _ => "the body is not what this endpoint expects (JSON of the documented shape).",
    };

    private static Task WriteAsync(HttpContext context, GatewayError error)
    {
        if (context.Request.Path.StartsWithSegments("/mcp"))
        {
            return ErrorResponses.WriteAsync(context, error, null, null);
        }

        // OAuth clients read error/error_description, admin clients error/message: both are given.
        var oauthError = error.HttpStatus switch
        {
            503 => "temporarily_unavailable",
            >= 500 => "server_error",
            _ => "invalid_request",
        };
        context.Response.StatusCode = error.HttpStatus;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["error"] = oauthError, ["error_description"] = error.Message, ["message"] = error.Message, ["gatehouseError"] = error.Code,
        }), context.RequestAborted);
    }

    [LoggerMessage(EventId = 1950, Level = LogLevel.Error, Message = "Unexpected failure on {Method} {Path} (request {RequestId}); answered GH1950")]
    private static partial void Failed(ILogger logger, string method, string path, string requestId, Exception exception);

    [LoggerMessage(EventId = 1951, Level = LogLevel.Warning, Message = "{Method} refused with {Code} ({Status}) after {ExceptionType}")]
    private static partial void Refused(ILogger logger, string method, string code, int status, string exceptionType);
}
