// A small spin-then-sleep thread pool for the engine's parallel loops.
#include "ThreadPool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

// The CPU's spin-wait hint: it tells the core (and an SMT sibling) that this thread is polling.
#if defined(__x86_64__)
#include <immintrin.h>
#define VIT_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define VIT_PAUSE() __asm__ volatile("yield")
#else
#define VIT_PAUSE() ((void)0)
#endif

// How long an idle worker polls for the next loop before it sleeps: PAUSE_ROUNDS pause
// instructions, then yields of the core up to SPIN_ROUNDS in all, so a loaded machine (more
// runnable threads than cores) is not starved by spinning.
enum { PAUSE_ROUNDS = 2000, SPIN_ROUNDS = 6000 };

static void back_off(int round) {
    if (round < PAUSE_ROUNDS) VIT_PAUSE(); else sched_yield();
}

struct vit_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic long generation;   // bumped for every loop; workers wait for a new value
    _Atomic long next_item;
    _Atomic int active;        // workers still inside the current loop
    _Atomic int stopping;
    long items;
    vit_pool_task task;
    void *context;
};

struct worker_start { vit_pool *pool; int index; };

static void run_items(vit_pool *pool, int thread) {
    for (;;) {
        long i = atomic_fetch_add_explicit(&pool->next_item, 1, memory_order_relaxed);
        if (i >= pool->items) break;
        pool->task(pool->context, i, thread);
    }
}

static void *worker_main(void *argument) {
    struct worker_start start = *(struct worker_start *)argument;
    free(argument);
    vit_pool *pool = start.pool;
    long seen = 0;
    for (;;) {
        long generation = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int spin = 0; generation == seen && spin < SPIN_ROUNDS; spin++) {
            back_off(spin);
            generation = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (generation == seen) {
            pthread_mutex_lock(&pool->mutex);
            while ((generation = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen
                   && !atomic_load(&pool->stopping)) {
                pthread_cond_wait(&pool->wake, &pool->mutex);
            }
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stopping)) return NULL;
        seen = generation;
        run_items(pool, start.index);
        atomic_fetch_sub_explicit(&pool->active, 1, memory_order_acq_rel);
    }
}

vit_pool *vit_pool_create(int threads) {
    vit_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->workers = calloc((size_t)pool->threads, sizeof(pthread_t));
    for (int i = 1; i < pool->threads; i++) {
        struct worker_start *start = malloc(sizeof *start);
        start->pool = pool;
        start->index = i;
        if (pthread_create(&pool->workers[i], NULL, worker_main, start) != 0) {
            free(start);
            pool->threads = i;   // run with the workers we got
            break;
        }
    }
    return pool;
}

int vit_pool_threads(const vit_pool *pool) { return pool->threads; }

void vit_pool_run(vit_pool *pool, long items, vit_pool_task task, void *context) {
    if (pool->threads == 1 || items <= 1) {
        for (long i = 0; i < items; i++) task(context, i, 0);
        return;
    }
    pool->items = items;
    pool->task = task;
    pool->context = context;
    atomic_store_explicit(&pool->next_item, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->active, pool->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    run_items(pool, 0);
    for (int round = 0; atomic_load_explicit(&pool->active, memory_order_acquire) > 0; round++) back_off(round);
}

void vit_pool_destroy(vit_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stopping, 1);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->workers[i], NULL);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->wake);
    free(pool->workers);
    free(pool);
}
