// JPEG decoding through libjpeg-turbo's libjpeg API, with errors turned into status codes.
#include "image_decoders.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

// libjpeg calls error_exit for fatal errors and expects it not to return; we jump back to the
// setjmp in the calling function. The error manager must come first so libjpeg's `err` pointer
// is also a pointer to this struct.
typedef struct {
    struct jpeg_error_mgr manager;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    vit_decode_status status;
    int max_scans;
    char *message;
    size_t message_capacity;
} jpeg_context;

static void set_message(jpeg_context *context, const char *text) {
    if (context->message && context->message_capacity > 0) {
        snprintf(context->message, context->message_capacity, "%s", text);
    }
}

static void on_error(j_common_ptr cinfo) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    set_message(context, text);
    switch (cinfo->err->msg_code) {
    case JERR_BAD_PRECISION:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
    case JERR_SOF_UNSUPPORTED: // lossless (SOF3) and hierarchical JPEG: valid files this libjpeg cannot decode
        context->status = VIT_DECODE_UNSUPPORTED;
        break;
    default:
        context->status = VIT_DECODE_CORRUPT;
    }
    longjmp(context->jump, 1);
}

// Warnings (level -1) are ignored as PIL ignores them ("extraneous bytes before marker"), except
// running out of data: libjpeg would pad the image with grey and carry on, while PIL refuses a
// truncated file, so we stop too.
static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_context *context = (jpeg_context *)cinfo->err;
        set_message(context, "the data ends before the image is complete");
        context->status = VIT_DECODE_TRUNCATED;
        longjmp(context->jump, 1);
    }
}

// Called by libjpeg while it reads scans; bounds the work a crafted progressive file can cause.
static void on_progress(j_common_ptr cinfo) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    if (!cinfo->is_decompressor || context->max_scans <= 0) {
        return;
    }
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > context->max_scans) {
        char text[128];
        snprintf(text, sizeof text, "more than %d progressive scans", context->max_scans);
        set_message(context, text);
        context->status = VIT_DECODE_UNSUPPORTED;
        longjmp(context->jump, 1);
    }
}

static void prepare(struct jpeg_decompress_struct *cinfo, jpeg_context *context, int max_scans,
                    char *message, size_t message_capacity) {
    memset(context, 0, sizeof *context);
    context->message = message;
    context->message_capacity = message_capacity;
    context->max_scans = max_scans;
    context->status = VIT_DECODE_OK;
    cinfo->err = jpeg_std_error(&context->manager);
    context->manager.error_exit = on_error;
    context->manager.emit_message = on_message;
    context->progress.progress_monitor = on_progress;
    if (message && message_capacity > 0) {
        message[0] = 0;
    }
}

// PIL chooses the output by the number of components: 1 → L, 3 → RGB, 4 → CMYK (libjpeg turns
// YCCK into CMYK). It refuses any other count, and so do we.
static vit_decode_status choose_output(struct jpeg_decompress_struct *cinfo, jpeg_context *context) {
    switch (cinfo->num_components) {
    case 1:
        cinfo->out_color_space = JCS_GRAYSCALE;
        return VIT_DECODE_OK;
    case 3:
        cinfo->out_color_space = JCS_RGB;
        return VIT_DECODE_OK;
    case 4:
        cinfo->out_color_space = JCS_CMYK;
        return VIT_DECODE_OK;
    default: {
        char text[64];
        snprintf(text, sizeof text, "%d colour components (expected 1, 3 or 4)", cinfo->num_components);
        set_message(context, text);
        return VIT_DECODE_UNSUPPORTED;
    }
    }
}

vit_decode_status vit_jpeg_inspect(const uint8_t *data, size_t size, vit_image_info *info,
                                   char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    jpeg_context context;
    prepare(&cinfo, &context, 0, message, message_capacity);
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return context.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    vit_decode_status status = choose_output(&cinfo, &context);
    if (status == VIT_DECODE_OK) {
        jpeg_calc_output_dimensions(&cinfo);
        memset(info, 0, sizeof *info);
        info->width = (int32_t)cinfo.output_width;
        info->height = (int32_t)cinfo.output_height;
        info->channels = cinfo.output_components;
        info->bits_per_sample = 8;
        info->source_color = (int32_t)cinfo.jpeg_color_space;
        info->source_depth = cinfo.num_components;
        info->progressive = cinfo.progressive_mode ? 1 : 0;
        info->flag = cinfo.saw_Adobe_marker ? 1 : 0;
    }
    jpeg_destroy_decompress(&cinfo);
    return status;
}

vit_decode_status vit_jpeg_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t capacity,
                                  int32_t max_scans, char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    jpeg_context context;
    prepare(&cinfo, &context, max_scans, message, message_capacity);
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return context.status;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &context.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    vit_decode_status status = choose_output(&cinfo, &context);
    if (status != VIT_DECODE_OK) {
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    jpeg_start_decompress(&cinfo);
    size_t row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if (row_bytes * (size_t)cinfo.output_height > capacity) {
        set_message(&context, "pixel buffer too small");
        jpeg_destroy_decompress(&cinfo);
        return VIT_DECODE_BUFFER_TOO_SMALL;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * row_bytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    // Every row is decoded; what may follow (a missing EOI, trailing bytes) does not change the
    // pixels, so it is not read (PIL stops here too).
    jpeg_destroy_decompress(&cinfo);
    return VIT_DECODE_OK;
}
