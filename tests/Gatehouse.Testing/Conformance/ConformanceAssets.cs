namespace Gatehouse.Testing.Conformance;

/// <summary>Tiny binary payloads the conformance scenarios ask for (they check presence and MIME type only).</summary>
internal static class ConformanceAssets
{
    /// <summary>A 1x1 red PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==");

    /// <summary>A valid, silent, 16-bit mono 8 kHz WAV with a single sample.</summary>
    public static readonly byte[] Wav = BuildWav();

    private static byte[] BuildWav()
    {
        // Built rather than pasted so the header fields are visibly consistent with the one-sample body.
        const short channels = 1;
        const int sampleRate = 8000;
        const short bitsPerSample = 16;
        short[] samples = [0];
        var dataBytes = samples.Length * bitsPerSample / 8;

        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.ASCII, leaveOpen: true))
        {
            writer.Write("RIFF"u8);
            writer.Write(36 + dataBytes);
            writer.Write("WAVE"u8);
            writer.Write("fmt "u8);
            writer.Write(16);
            writer.Write((short)1);
            writer.Write(channels);
            writer.Write(sampleRate);
            writer.Write(sampleRate * channels * bitsPerSample / 8);
            writer.Write((short)(channels * bitsPerSample / 8));
            writer.Write(bitsPerSample);
            writer.Write("data"u8);
            writer.Write(dataBytes);
            foreach (var sample in samples)
            {
                writer.Write(sample);
            }
        }

        return stream.ToArray();
    }
}
