// PNG decoding through libpng, with errors turned into status codes.
#include "image_decoders.h"

#include <stdio.h>
#include <string.h>

#include <png.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    vit_decode_status status;
    char *message;
    size_t message_capacity;
} png_context;

static void set_message(png_context *context, const char *text) {
    if (context->message && context->message_capacity > 0) {
        snprintf(context->message, context->message_capacity, "%s", text);
    }
}

// libpng's error callback must not return: record why and jump to the caller's setjmp.
static void on_error(png_structp png, png_const_charp text) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    if (context->status == VIT_DECODE_OK) {
        context->status = VIT_DECODE_CORRUPT;
        set_message(context, text);
    }
    png_longjmp(png, 1);
}

// Warnings (bad CRC of an ancillary chunk, unknown chunks, ...) do not affect the pixels.
static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void on_read(png_structp png, png_bytep out, size_t length) {
    png_context *context = (png_context *)png_get_io_ptr(png);
    if (length > context->size - context->offset) {
        context->status = VIT_DECODE_TRUNCATED;
        set_message(context, "the data ends before the image is complete");
        png_error(png, "truncated");
    }
    memcpy(out, context->data + context->offset, length);
    context->offset += length;
}

// The transformations that bring every PNG to 8- or 16-bit samples of gray, gray+alpha, RGB or
// RGBA, as PIL's PNG plugin unpacks them: palettes looked up, 1/2/4-bit gray scaled to 0…255
// (×255, ×85, ×17). Returns the number of interlace passes. No gamma or colour management, as PIL applies none when it converts.
static int configure(png_structp png, png_infop info) {
    png_byte color_type = png_get_color_type(png, info);
    png_byte depth = png_get_bit_depth(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return passes;
}

static void prepare(png_context *context, const uint8_t *data, size_t size, char *message,
                    size_t message_capacity) {
    memset(context, 0, sizeof *context);
    context->data = data;
    context->size = size;
    context->message = message;
    context->message_capacity = message_capacity;
    context->status = VIT_DECODE_OK;
    if (message && message_capacity > 0) {
        message[0] = 0;
    }
}

// libpng's read and info structures, or 0 with the context's message set. (The setjmp that
// catches libpng's errors has to stay in the caller's frame, so only this part is shared.)
static int create_reader(png_context *context, png_structp *png, png_infop *png_info) {
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, context, on_error, on_warning);
    if (*png) {
        *png_info = png_create_info_struct(*png);
        if (*png_info) return 1;
        png_destroy_read_struct(png, NULL, NULL);
    }
    set_message(context, "libpng could not allocate its state");
    return 0;
}

// Reads the header (filling `info` when given) and, when `pixels` is given, the image rows.
// Inspecting and decoding share this one function because libpng reports errors by longjmp to
// the setjmp below, which has to stay in the frame that makes the libpng calls.
static vit_decode_status read_png(const uint8_t *data, size_t size, vit_image_info *info,
                                  uint8_t *pixels, size_t capacity, char *message, size_t message_capacity) {
    png_context context;
    prepare(&context, data, size, message, message_capacity);
    png_structp png;
    png_infop png_info;
    if (!create_reader(&context, &png, &png_info)) return VIT_DECODE_CORRUPT;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &png_info, NULL);
        return context.status;
    }
    png_set_read_fn(png, &context, on_read);
    png_read_info(png, png_info);
    if (info) {
        memset(info, 0, sizeof *info);
        info->source_color = png_get_color_type(png, png_info);
        info->source_depth = png_get_bit_depth(png, png_info);
        info->progressive = png_get_interlace_type(png, png_info) != PNG_INTERLACE_NONE;
        info->flag = png_get_valid(png, png_info, PNG_INFO_tRNS) ? 1 : 0;
    }
    int passes = configure(png, png_info);
    png_uint_32 height = png_get_image_height(png, png_info);
    if (info) {
        info->width = (int32_t)png_get_image_width(png, png_info);
        info->height = (int32_t)height;
        info->channels = png_get_channels(png, png_info);
        info->bits_per_sample = png_get_bit_depth(png, png_info);
    }
    if (pixels) {
        size_t row_bytes = png_get_rowbytes(png, png_info);
        if (row_bytes * (size_t)height > capacity) {
            png_destroy_read_struct(&png, &png_info, NULL);
            set_message(&context, "pixel buffer too small");
            return VIT_DECODE_BUFFER_TOO_SMALL;
        }
        // With interlacing, each pass adds its pixels to the rows written by the earlier passes.
        for (int pass = 0; pass < passes; pass++) {
            for (png_uint_32 y = 0; y < height; y++) {
                png_read_row(png, pixels + (size_t)y * row_bytes, NULL);
            }
        }
        // The image data is complete; trailing chunks (text, IEND) do not change the pixels.
    }
    png_destroy_read_struct(&png, &png_info, NULL);
    return VIT_DECODE_OK;
}

vit_decode_status vit_png_inspect(const uint8_t *data, size_t size, vit_image_info *info,
                                  char *message, size_t message_capacity) {
    return read_png(data, size, info, NULL, 0, message, message_capacity);
}

vit_decode_status vit_png_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t capacity,
                                 char *message, size_t message_capacity) {
    return read_png(data, size, NULL, pixels, capacity, message, message_capacity);
}
