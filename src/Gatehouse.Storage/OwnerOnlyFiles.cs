namespace Gatehouse.Storage;

/// <summary>
/// Keeps the data directory (master key, admin token, sealed database) readable by its owner only: the directory 0700,
/// the files 0600, whatever the process umask. No-op on Windows, where the directory inherits its ACL.
/// </summary>
public static class OwnerOnlyFiles
{
    /// <summary>rwx for the owner only.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner only.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates <paramref name="directory"/> (and missing parents) with mode 0700, or takes group and other access away
    /// from an existing one. Returns a warning when an existing directory could not be tightened (not ours), else null.
    /// </summary>
    public static string? EnsureDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return null;
        }

        if (!Directory.Exists(directory))
        {
            // Parents made on the way get the same mode: nothing about the layout needs to be visible to others either.
            Directory.CreateDirectory(directory, DirectoryMode);
            return null;
        }

        return Tighten(directory);
    }

    /// <summary>
    /// Creates <paramref name="path"/> empty with mode 0600 when missing (so SQLite, which gives its -wal and -shm files
    /// the database file's mode, never makes them readable to others), or tightens an existing file.
    /// </summary>
    public static string? EnsureFile(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        try
        {
            using var created = new FileStream(path, new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode });
            return null;
        }
        catch (IOException) when (File.Exists(path))
        {
            return Tighten(path);
        }
    }

    /// <summary>Tightens <paramref name="path"/> when it exists (files SQLite made before this version, such as -wal and -shm).</summary>
    public static string? TightenIfPresent(string path) =>
        OperatingSystem.IsWindows() || !Path.Exists(path) ? null : Tighten(path);

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string? Tighten(string path)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOther) == 0)
        {
            return null;
        }

        try
        {
            File.SetUnixFileMode(path, mode & ~GroupOrOther);
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return $"{path} is readable by other users and Gatehouse could not change that (it is not the owner): run 'chmod go= {path}'.";
        }
    }
}
