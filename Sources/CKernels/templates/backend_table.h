// The table of a tier whose kernels are the shared templates' (included before this file): every
// tier names the same functions, so its table is written once, here. What a tier adds of its own
// (an RGB interleave, a stem kernel) comes in as arguments (NULL: the generic path).
#ifndef VIT_TEMPLATE_BACKEND_TABLE_H
#define VIT_TEMPLATE_BACKEND_TABLE_H

#define VIT_TEMPLATE_BACKEND(NAME, INTERLEAVE_RGB, IMAGE_CONV_COVERS, IMAGE_CONV_ROWS) \
    {                                                                                  \
        .name = NAME,                                                                  \
        .gemm_rows = GEMM_MR,                                                          \
        .gemm_panel = gemm_panel,                                                      \
        .depthwise = depthwise,                                                        \
        .attention_head = attention_head,                                              \
        .gelu_row = gelu_row,                                                          \
        .exp_row = exp_row,                                                            \
        .layer_norm_rows = layer_norm_rows,                                            \
        .interleave_rgb = INTERLEAVE_RGB,                                              \
        .image_conv_covers = IMAGE_CONV_COVERS,                                        \
        .image_conv_rows = IMAGE_CONV_ROWS,                                            \
    }

#endif
