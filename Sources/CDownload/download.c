#include "CDownload.h"

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

// The entry points of libcurl this file uses, resolved once.
static struct {
    const char *failure;  // why libcurl could not be loaded, or NULL
    __typeof__(&curl_global_init) global_init;
    __typeof__(&curl_easy_init) init;
    __typeof__(&curl_easy_setopt) setopt;
    __typeof__(&curl_easy_perform) perform;
    __typeof__(&curl_easy_getinfo) getinfo;
    __typeof__(&curl_easy_cleanup) cleanup;
    __typeof__(&curl_easy_strerror) strerror;
} curl;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void load_curl(void) {
#if defined(__APPLE__)
    // macOS ships libcurl with the system (untested here).
    void *library = dlopen("/usr/lib/libcurl.4.dylib", RTLD_NOW | RTLD_LOCAL);
#define VIT_CURL_NAME "libcurl.4.dylib"
#else
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
#define VIT_CURL_NAME "libcurl.so.4"
#endif
    if (!library) {
        curl.failure = VIT_CURL_NAME " is not installed (Debian: apt-get install libcurl4)";
        return;
    }
#define RESOLVE(field, name)                                                   \
    if (!(curl.field = (__typeof__(curl.field))dlsym(library, name))) {        \
        curl.failure = VIT_CURL_NAME " lacks " name;                            \
        return;                                                                \
    }
    RESOLVE(global_init, "curl_global_init")
    RESOLVE(init, "curl_easy_init")
    RESOLVE(setopt, "curl_easy_setopt")
    RESOLVE(perform, "curl_easy_perform")
    RESOLVE(getinfo, "curl_easy_getinfo")
    RESOLVE(cleanup, "curl_easy_cleanup")
    RESOLVE(strerror, "curl_easy_strerror")
#undef RESOLVE
    // Not thread-safe in old libcurl: done here, once, under pthread_once.
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) curl.failure = "libcurl failed to initialize";
}

struct transfer {
    CURL *handle;
    vit_download_sink sink;
    void *context;
    int aborted;
};

static size_t write_body(char *data, size_t size, size_t count, void *user) {
    struct transfer *t = user;
    long status = 0;
    curl_off_t length = -1;
    curl.getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    curl.getinfo(t->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (t->sink(t->context, data, size * count, status, (long long)length) != 0) {
        t->aborted = 1;
        return 0;  // tells libcurl to stop with CURLE_WRITE_ERROR
    }
    return size * count;
}

int vit_download(const char *url, const struct vit_download_limits *limits, vit_download_sink sink, void *context,
                 long *status, long long *content_length, char *error, size_t error_size) {
    *status = 0;
    *content_length = -1;
    pthread_once(&curl_once, load_curl);
    if (curl.failure) {
        snprintf(error, error_size, "%s", curl.failure);
        return 1;
    }
    struct transfer t = {curl.init(), sink, context, 0};
    if (!t.handle) {
        snprintf(error, error_size, "libcurl could not create a transfer");
        return 1;
    }
    curl.setopt(t.handle, CURLOPT_URL, url);
    curl.setopt(t.handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl.setopt(t.handle, CURLOPT_MAXREDIRS, 10L);
    curl.setopt(t.handle, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts in a threaded process
    curl.setopt(t.handle, CURLOPT_CONNECTTIMEOUT, limits->connect_timeout_seconds);
    curl.setopt(t.handle, CURLOPT_TIMEOUT, limits->deadline_seconds);
    // Below the rate for the whole window (an idle connection included) ends the transfer.
    curl.setopt(t.handle, CURLOPT_LOW_SPEED_LIMIT, limits->minimum_bytes_per_second);
    curl.setopt(t.handle, CURLOPT_LOW_SPEED_TIME, limits->rate_window_seconds);
    curl.setopt(t.handle, CURLOPT_USERAGENT, "vit-engine");
    curl.setopt(t.handle, CURLOPT_WRITEFUNCTION, write_body);
    curl.setopt(t.handle, CURLOPT_WRITEDATA, &t);
    const CURLcode code = curl.perform(t.handle);
    curl_off_t length = -1, received = 0;
    double elapsed = 0, connected = 0;
    curl.getinfo(t.handle, CURLINFO_RESPONSE_CODE, status);
    curl.getinfo(t.handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    curl.getinfo(t.handle, CURLINFO_SIZE_DOWNLOAD_T, &received);
    curl.getinfo(t.handle, CURLINFO_TOTAL_TIME, &elapsed);
    curl.getinfo(t.handle, CURLINFO_CONNECT_TIME, &connected);
    *content_length = (long long)length;
    curl.cleanup(t.handle);
    if (t.aborted) return -1;
    if (code == CURLE_OPERATION_TIMEDOUT && limits->deadline_seconds > 0 && elapsed >= limits->deadline_seconds - 0.5) {
        snprintf(error, error_size, "not finished within the %ld-second deadline (%lld bytes received)",
                 limits->deadline_seconds, (long long)received);
        return 1;
    }
    if (code == CURLE_OPERATION_TIMEDOUT && connected == 0) {
        snprintf(error, error_size, "no connection within %ld s", limits->connect_timeout_seconds);
        return 1;
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
        snprintf(error, error_size, "slower than %ld bytes/s for %ld s (%lld bytes received in %.0f s)",
                 limits->minimum_bytes_per_second, limits->rate_window_seconds, (long long)received, elapsed);
        return 1;
    }
    if (code != CURLE_OK) {
        snprintf(error, error_size, "%s", curl.strerror(code));
        return 1;
    }
    return 0;
}
