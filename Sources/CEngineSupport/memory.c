// Handing freed memory back to the system, where the C library can.
#include "CEngineSupport.h"

#include <stdlib.h>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int vit_return_free_memory(void) {
#if defined(__GLIBC__)
    // glibc keeps freed pages in its arenas (one per thread that allocated) and raises its mmap
    // threshold after large frees, so a burst's peak stays resident; this releases the free pages.
    return malloc_trim(0);
#else
    return 0;  // Apple's and musl's allocators return large frees on their own.
#endif
}
