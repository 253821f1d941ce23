// Picks OpenBLAS's fastest kernels for this CPU at run time, without the user setting anything.
#include "CEngineSupport.h"
#include "CKernels.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// Exported by DYNAMIC_ARCH builds of OpenBLAS (Debian's are): drop the kernel table chosen at
// load time and choose again, reading OPENBLAS_CORETYPE. Weak, so a build without them still
// links and simply keeps its kernels.
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static int is_avx512_core(const char *name) {
    static const char *const cores[] = {"skylakex", "cooperlake", "sapphirerapids"};
    for (unsigned i = 0; i < sizeof cores / sizeof cores[0]; i++) {
        if (name && strcasecmp(name, cores[i]) == 0) return 1;
    }
    return 0;
}

int vit_blas_choose_core(const char *core) {
    if (gotoblas_dynamic_init == NULL || gotoblas_dynamic_quit == NULL) return 0;
    const char *previous = getenv("OPENBLAS_CORETYPE");
    char *saved = previous ? strdup(previous) : NULL;
    setenv("OPENBLAS_CORETYPE", core, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    // Leave the environment as we found it: child processes make their own choice.
    if (saved) {
        setenv("OPENBLAS_CORETYPE", saved, 1);
        free(saved);
    } else {
        unsetenv("OPENBLAS_CORETYPE");
    }
    return 1;
}

int vit_blas_use_avx512_kernels(void) {
    if (getenv("OPENBLAS_CORETYPE") != NULL) return 0;
    if (!vit_cpu_has_avx512() || is_avx512_core(openblas_get_corename())) return 0;
    if (!vit_blas_choose_core("SkylakeX")) return 0;
    return is_avx512_core(openblas_get_corename());
}

const char *vit_blas_core_name(void) { return openblas_get_corename(); }

void vit_blas_set_threads(int threads) { openblas_set_num_threads(threads); }

int vit_blas_threads(void) { return openblas_get_num_threads(); }
