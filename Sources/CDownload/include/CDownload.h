#ifndef VIT_DOWNLOAD_H
#define VIT_DOWNLOAD_H

#include <stddef.h>

// HTTP(S) downloads through libcurl, loaded with dlopen on the first download.
//
// Why not URLSession: on Linux it is FoundationNetworking, which links libcurl and some thirty
// libraries it pulls in (TLS, Kerberos, LDAP, …) into every process that contains the code,
// about 7 MB of resident memory at start-up even if nothing is ever downloaded. Loading libcurl
// only when a download starts keeps that cost out of inference and serving.

/// Receives each chunk of the response body. `status` is the final HTTP status (after
/// redirects), `content_length` the announced size or −1. Returns 0 to go on; anything else
/// aborts the transfer.
typedef int (*vit_download_sink)(void *context, const char *data, size_t count, long status,
                                 long long content_length);

/// When a transfer is given up. Every field > 0 (0 disables the limit it sets, except the
/// connect timeout, where libcurl's own default applies).
struct vit_download_limits {
    long connect_timeout_seconds;   // to resolve and connect
    long deadline_seconds;          // for the whole transfer, however fast it goes
    long minimum_bytes_per_second;  // a transfer slower than this …
    long rate_window_seconds;       // … for this long is given up (a trickle never ends otherwise)
};

/// Streams `url` (following up to 10 redirects) into `sink` within `limits`. Returns 0 when the
/// transfer completed (whatever the HTTP status), −1 when the sink aborted it, and 1 on any other
/// failure with a reason in `error` (NUL-terminated, at most error_size bytes), e.g. that libcurl
/// is missing or which limit was hit. `status` and `content_length` receive the final status (0
/// if none) and announced size (−1 if none).
int vit_download(const char *url, const struct vit_download_limits *limits, vit_download_sink sink, void *context,
                 long *status, long long *content_length, char *error, size_t error_size);

#endif
