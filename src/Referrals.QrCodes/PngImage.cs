using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace Referrals.QrCodes;

/// <summary>Draws a QR matrix (and a bitmap-font caption) into a 1-bit greyscale PNG.</summary>
internal static class PngImage
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    internal static byte[] Render(QrMatrix matrix, int moduleSize, int quietZone, byte[][]? caption)
    {
        int codeSide = (matrix.Size + (2 * quietZone)) * moduleSize;
        int width = codeSide, height = codeSide, scale = 0, captionWidth = 0, captionTop = 0;
        if (caption is not null)
        {
            // Glyph pixels half a module wide, smaller when the caption would not fit the code's width; the image widens
            // only when even one-pixel glyphs do not fit.
            int cells = (caption.Length * (CaptionFont.Width + 1)) - 1;
            scale = Math.Max(1, moduleSize / 2);
            while (scale > 1 && (cells + 2) * scale > codeSide)
            {
                scale--;
            }
            captionWidth = cells * scale;
            width = Math.Max(codeSide, (cells + 2) * scale);
            captionTop = codeSide + (2 * scale);
            height = captionTop + ((CaptionFont.Height + 3) * scale);
        }

        int stride = ((width + 7) / 8) + 1; // a filter byte (0: none) before each row
        var raw = new byte[checked(stride * height)];
        // White everywhere (a 1 bit), then black pixels cleared.
        for (int y = 0; y < height; y++)
        {
            raw.AsSpan((y * stride) + 1, stride - 1).Fill(0xFF);
        }

        int codeLeft = ((width - codeSide) / 2) + (quietZone * moduleSize);
        int codeTop = quietZone * moduleSize;
        for (int r = 0; r < matrix.Size; r++)
        {
            for (int c = 0; c < matrix.Size; c++)
            {
                if (matrix.IsDark(r, c))
                {
                    Fill(raw, stride, codeLeft + (c * moduleSize), codeTop + (r * moduleSize), moduleSize, moduleSize);
                }
            }
        }
        if (caption is not null)
        {
            int left = (width - captionWidth) / 2;
            for (int i = 0; i < caption.Length; i++)
            {
                int glyphLeft = left + (i * (CaptionFont.Width + 1) * scale);
                for (int gy = 0; gy < CaptionFont.Height; gy++)
                {
                    for (int gx = 0; gx < CaptionFont.Width; gx++)
                    {
                        if ((caption[i][gy] & (0x10 >> gx)) != 0)
                        {
                            Fill(raw, stride, glyphLeft + (gx * scale), captionTop + (gy * scale), scale, scale);
                        }
                    }
                }
            }
        }

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 1;  // bit depth
        header[9] = 0;  // greyscale
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering (every row: none)
        header[12] = 0; // not interlaced
        WriteChunk(png, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                z.Write(raw);
            }
            WriteChunk(png, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        }
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Fill(byte[] raw, int stride, int x, int y, int w, int h)
    {
        for (int row = y; row < y + h; row++)
        {
            int start = (row * stride) + 1;
            for (int col = x; col < x + w; col++)
            {
                raw[start + (col >> 3)] &= (byte)(~(0x80 >> (col & 7)) & 0xFF);
            }
        }
    }

    private static void WriteChunk(Stream png, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        Encoding.ASCII.GetBytes(type, typeBytes);
        png.Write(typeBytes);
        png.Write(data);
        var crc = new Crc32();
        crc.Append(typeBytes);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        png.Write(word);
    }
}
