using System.Threading.Channels;

namespace Gatehouse.Proxy.Bridging;

/// <summary>The bounds of a bridged session's queues.</summary>
public static class BridgeLimits
{
    /// <summary>Most messages waiting for a client to read them, per queue; a session whose client falls this far behind ends.</summary>
    public const int MessageQueueCapacity = 1000;

    /// <summary>A bounded queue of messages for one reader; writers use TryWrite and treat false as overflow.</summary>
    public static Channel<string> NewMessageQueue() =>
        Channel.CreateBounded<string>(new BoundedChannelOptions(MessageQueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
}
