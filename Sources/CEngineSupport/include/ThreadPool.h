#ifndef VIT_THREAD_POOL_H
#define VIT_THREAD_POOL_H

/// A fixed set of worker threads that run the items of one parallel loop at a time. Layers are
/// short (a few microseconds at batch 1), so idle workers spin briefly before they sleep: waking
/// a sleeping thread costs more than most layers.
typedef struct vit_pool vit_pool;

/// The body of a loop: called once per item, with the index of the thread running it
/// (0 = the caller, 1…threads-1 = workers), so each thread can use its own scratch memory.
typedef void (*vit_pool_task)(void *context, long item, int thread);

/// A pool running loops on `threads` threads in all (the caller plus threads-1 workers).
vit_pool *vit_pool_create(int threads);
void vit_pool_destroy(vit_pool *pool);
int vit_pool_threads(const vit_pool *pool);

/// Runs task(context, i, thread) for every i in [0, items) and returns when all are done.
/// One loop at a time per pool: callers serialize (an engine session is used by one thread).
void vit_pool_run(vit_pool *pool, long items, vit_pool_task task, void *context);

#endif
