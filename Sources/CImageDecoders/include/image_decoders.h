// The boundary between Swift and the C image libraries.
//
// libjpeg and libpng report errors by calling an error handler that must not return; the only
// way to recover is setjmp/longjmp, which cannot cross Swift frames. These functions keep every
// setjmp in C: each call either succeeds or returns an error code with a message, and never
// exits the process. Memory for the pixels is allocated by the caller (Swift), after it has
// checked the dimensions reported by the *_inspect functions against its pixel limit.
#ifndef VIT_IMAGE_DECODERS_H
#define VIT_IMAGE_DECODERS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a decoder call.
typedef enum {
    VIT_DECODE_OK = 0,
    /// The library rejected the data; the message says why.
    VIT_DECODE_CORRUPT = 1,
    /// The data ended before the image was complete.
    VIT_DECODE_TRUNCATED = 2,
    /// The file is valid but uses a feature the decoder does not support (message says which).
    VIT_DECODE_UNSUPPORTED = 3,
    /// The caller's pixel buffer is smaller than the decoded image (a caller bug).
    VIT_DECODE_BUFFER_TOO_SMALL = 4,
} vit_decode_status;

/// What the header says about an image, and the layout the decode call will produce.
typedef struct {
    int32_t width;
    int32_t height;
    /// Samples per pixel of the decoded output (JPEG: 1 gray, 3 RGB, 4 CMYK as stored;
    /// PNG: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA, palettes already expanded).
    int32_t channels;
    /// Bits per sample of the decoded output: 8, or 16 for 16-bit PNGs (big-endian samples).
    int32_t bits_per_sample;
    /// JPEG: the libjpeg J_COLOR_SPACE of the file. PNG: the IHDR colour type (0, 2, 3, 4, 6).
    int32_t source_color;
    /// JPEG: number of components. PNG: IHDR bit depth.
    int32_t source_depth;
    /// JPEG: progressive. PNG: Adam7-interlaced.
    int32_t progressive;
    /// JPEG: an Adobe APP14 marker is present. PNG: a tRNS chunk is present.
    int32_t flag;
} vit_image_info;

/// Reads a JPEG header and reports the output layout (gray → 1, YCbCr/RGB → 3 RGB,
/// CMYK/YCCK → 4 CMYK samples as stored in the file).
vit_decode_status vit_jpeg_inspect(const uint8_t *data, size_t size, vit_image_info *info,
                                   char *message, size_t message_capacity);

/// Decodes a JPEG into `pixels` (rows of width × channels bytes, as `vit_jpeg_inspect` reports).
/// Uses libjpeg's defaults (accurate integer IDCT, fancy upsampling), as PIL does. Premature end
/// of data is reported as truncation, not padded. At most `max_scans` scans are accepted for a
/// progressive image, so a crafted file cannot make decoding take unbounded time.
vit_decode_status vit_jpeg_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t capacity,
                                  int32_t max_scans, char *message, size_t message_capacity);

/// Reads a PNG header and reports the output layout.
vit_decode_status vit_png_inspect(const uint8_t *data, size_t size, vit_image_info *info,
                                  char *message, size_t message_capacity);

/// Decodes a PNG into `pixels`: palettes expanded to RGB (or RGBA with tRNS), gray of 1, 2 or 4
/// bits scaled to 8 bits, 16-bit samples kept (big-endian), interlacing resolved.
vit_decode_status vit_png_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t capacity,
                                 char *message, size_t message_capacity);

#ifdef __cplusplus
}
#endif

#endif
