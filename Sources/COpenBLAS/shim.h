// The CBLAS interface of OpenBLAS (Debian: libopenblas-dev), plus the OpenBLAS
// extensions the engine uses to report and control the kernel it runs.
#include <cblas.h>
