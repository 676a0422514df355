using System.Security.Cryptography;

namespace Gatehouse.Core.Security;

/// <summary>
/// A sealed value names a data key wrapped by a master key this process does not hold: the master key was rotated
/// (<c>gatehouse keys rotate --new-master-key</c>) while the process ran. Only a restart with the new key helps.
/// </summary>
public sealed class MasterKeyChangedException(string message) : CryptographicException(message);
