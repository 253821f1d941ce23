// libjpeg-turbo's libjpeg API (Debian: libjpeg62-turbo-dev). jpeglib.h needs stdio.h first
// for FILE and size_t.
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
