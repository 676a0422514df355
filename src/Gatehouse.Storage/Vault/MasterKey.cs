using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Storage.Vault;

/// <summary>The root key: it wraps the vault's data keys and derives the session ticket key. It never leaves memory.</summary>
public sealed class MasterKey
{
    /// <summary>Environment variable that supplies the master key (base64 of 32 bytes) instead of the key file.</summary>
    public const string EnvironmentVariable = "GATEHOUSE_MASTER_KEY";

    /// <summary>Name of the key file created in the data directory on first run.</summary>
    public const string FileName = "master.key";

    private readonly byte[] _key;

    private MasterKey(byte[] key)
    {
        _key = key;
        Id = "mk-" + Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 6));
    }

    /// <summary>A short fingerprint recorded beside everything this key wraps.</summary>
    public string Id { get; }

    /// <summary>Creates a master key from raw bytes (tests).</summary>
    public static MasterKey FromBytes(ReadOnlySpan<byte> key) =>
        key.Length == 32 ? new MasterKey(key.ToArray()) : throw new ArgumentException("A master key is 32 bytes.", nameof(key));

    /// <summary>
    /// Loads the master key from <see cref="EnvironmentVariable"/> when set, else from <c>master.key</c> in the data
    /// directory, creating that file (mode 0600) on first run.
    /// </summary>
    /// <exception cref="InvalidOperationException">The variable or file does not hold a valid key; the message says how to fix it.</exception>
    public static MasterKey Load(string dataDirectory, string? environmentValue)
    {
        if (!string.IsNullOrWhiteSpace(environmentValue))
        {
            return new MasterKey(Decode(environmentValue, $"the {EnvironmentVariable} environment variable"));
        }

        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            return new MasterKey(Decode(File.ReadAllText(path), path));
        }

        var key = RandomNumberGenerator.GetBytes(32);
        Directory.CreateDirectory(dataDirectory);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        {
            stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
        }

        return new MasterKey(key);
    }

    /// <summary>Derives a purpose-bound 256-bit key (HKDF-SHA256). Done once at start-up, never per request.</summary>
    public byte[] DeriveKey(string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, 32, salt: [], info: Encoding.UTF8.GetBytes("gatehouse/" + purpose));

    internal byte[] Wrap(ReadOnlySpan<byte> dataKey, string dataKeyId) => AeadBox.Seal(_key, dataKey, Encoding.UTF8.GetBytes(dataKeyId));

    internal bool TryUnwrap(byte[] wrapped, string dataKeyId, out byte[] dataKey) =>
        AeadBox.TryOpen(_key, wrapped, Encoding.UTF8.GetBytes(dataKeyId), out dataKey);

    private static byte[] Decode(string text, string source)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            key = [];
        }

        return key.Length == 32
            ? key
            : throw new InvalidOperationException($"The master key in {source} is not valid: it must be 32 random bytes in base64 (e.g. the output of 'openssl rand -base64 32').");
    }
}
