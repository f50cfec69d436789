/* The run (run.h): plan, workers, progress, table. */
#define _XOPEN_SOURCE 700
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "export.h"
#include "fault.h"
#include "metric_names.h"
#include "progress.h"
#include "store.h"
#include "report.h"
#include "summary.h"
#include "sysinfo.h"
#include "video.h"

int auh_shard_selects(size_t index, int k, int n)
{
    return n <= 0 || (int)(index % (size_t)n) == k - 1;
}

void auh_plan_free(AuhPlan *p)
{
    for (int i = 0; i < p->n_datasets; i++)
        auh_manifest_free(&p->datasets[i]);
    free(p->datasets);
    free(p->jobs);
    memset(p, 0, sizeof(*p));
}

static AuStatus load_dataset(AuhManifest *m, const char *arg, const char *data_dir, AuError *err)
{
    struct stat st;
    if (stat(arg, &st) != 0)
        return au_error_set(err, AU_ERR_IO, "--dataset '%s': %s", arg, strerror(errno));
    /* A folder is a study given directly (datasets/README.md). */
    if (S_ISDIR(st.st_mode))
        return auh_manifest_from_study(m, arg, err);
    struct stat ds;
    if (stat(data_dir, &ds) != 0 || !S_ISDIR(ds.st_mode))
        return au_error_set(err, AU_ERR_IO, "data folder '%s' (--data / $AU_DATA_DIR): %s", data_dir,
                            errno ? strerror(errno) : "not a folder");
    return auh_manifest_load(m, arg, data_dir, err);
}

AuStatus auh_plan_build(AuhPlan *p, const AuhRunOptions *o, AuError *err)
{
    memset(p, 0, sizeof(*p));
    if (!(p->datasets = calloc((size_t)(o->n_datasets > 0 ? o->n_datasets : 1), sizeof(AuhManifest))))
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    AuStatus st = AU_OK;
    size_t n_jobs = 0;
    for (int d = 0; d < o->n_datasets; d++) {
        if ((st = load_dataset(&p->datasets[d], o->datasets[d], o->data_dir, err)))
            goto fail;
        p->n_datasets++;
        for (int e = 0; e < d; e++)
            if (!strcmp(p->datasets[e].name, p->datasets[d].name)) {
                st = au_error_set(err, AU_ERR_ARG,
                                  "--dataset '%s' and '%s' have the same dataset name '%s' (results are stored by it)",
                                  o->datasets[e], o->datasets[d], p->datasets[d].name);
                goto fail;
            }
        const AuhManifest *m = &p->datasets[d];
        for (size_t i = 0; i < m->n_items; i++)
            n_jobs += (size_t)o->n_variants + (!o->no_openface && m->items[i].openface ? 1 : 0);
    }
    if (!(p->jobs = calloc(n_jobs ? n_jobs : 1, sizeof(AuhJobSpec)))) {
        st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int d = 0; d < p->n_datasets; d++) {
        const AuhManifest *m = &p->datasets[d];
        for (size_t i = 0; i < m->n_items; i++) {
            for (int v = 0; v < o->n_variants; v++, p->n_jobs++)
                p->jobs[p->n_jobs] = (AuhJobSpec){p->n_jobs, o->variants[v], m, &m->items[i], 0};
            if (!o->no_openface && m->items[i].openface) {
                p->jobs[p->n_jobs] = (AuhJobSpec){p->n_jobs, AUH_VARIANT_OPENFACE, m, &m->items[i], 0};
                p->n_jobs++;
            }
        }
    }
    return AU_OK;
fail:
    auh_plan_free(p);
    return st;
}

/* ---- signals ---- */

static const char *signal_abbrev(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGPIPE: return "SIGPIPE";
    case SIGQUIT: return "SIGQUIT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGALRM: return "SIGALRM";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "signal";
    }
}

/* ---- workers ---- */

typedef struct Slot {
    pid_t pid;                 /* 0: free */
    int fd;                    /* read end of the worker's pipe, -1 at EOF */
    const AuhJobSpec *spec;
    AuhWorkerMsg done;         /* the DONE message, when got_done */
    char worker_error[512];    /* the ERROR message: why the worker could not commit */
    int got_done;
    int64_t frames, total;
    double fps;
    int64_t started_ns;
    double started_at;
} Slot;

typedef struct Runner {
    const AuhRunOptions *o;
    int64_t run_id;
    AuhWorkerConfig wcfg;
    Slot *slots;
    int n_slots;
    AuhProgress progress;
    pid_t self;
    int64_t t0_ns;
    int64_t frames_expected, frames_finished; /* variant jobs (not OpenFace rows) */
    size_t n_failed, n_worker_deaths;
} Runner;

static int is_openface(const AuhJobSpec *spec)
{
    return !strcmp(spec->variant, AUH_VARIANT_OPENFACE);
}

static void worker_main(Runner *r, Slot *slot, int fd)
{
#ifdef __linux__
    /* die with the runner: a killed run must not leave writers behind */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != r->self)
        _exit(1); /* the runner died before prctl took effect */
    for (int i = 0; i < r->n_slots; i++)
        if (r->slots[i].pid && r->slots[i].fd >= 0)
            close(r->slots[i].fd);
    signal(SIGPIPE, SIG_DFL);
    AuhWorkerConfig cfg = r->wcfg;
    cfg.progress_fd = fd;
    AuError err = {0};
    AuStatus st = auh_worker_run(&cfg, slot->spec, NULL, &err);
    if (st) {
        fprintf(stderr, "auharness: %s %s/%s: %s\n", slot->spec->variant, slot->spec->dataset->name,
                slot->spec->item->id, err.msg);
        /* the runner records the job as failed; tell it why */
        AuhWorkerMsg m;
        memset(&m, 0, sizeof(m));
        m.kind = AUH_MSG_ERROR;
        snprintf(m.error, sizeof(m.error), "%s", err.msg);
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        ssize_t w;
        do
            w = write(fd, &m, sizeof(m));
        while (w < 0 && errno == EINTR);
    }
    close(fd);
    /* exit, not _exit: stdio was flushed before the fork, and the leak
     * checker of sanitizer builds runs at exit. */
    exit(st ? 3 : 0);
}

static AuStatus spawn(Runner *r, Slot *slot, const AuhJobSpec *spec, AuError *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return au_error_set(err, AU_ERR_IO, "pipe: %s", strerror(errno));
    /* The write end: not inherited by what the worker executes (OpenFace's
     * FeatureExtraction), and non-blocking for progress messages. */
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fflush(stdout);
    fflush(stderr);
    memset(slot, 0, sizeof(*slot));
    slot->spec = spec;
    slot->fd = -1;
    slot->started_ns = auh_monotonic_ns();
    slot->started_at = auh_wall_time();
    slot->total = spec->expected_frames;
    slot->fps = NAN;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return au_error_set(err, AU_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        worker_main(r, slot, fds[1]);
    }
    close(fds[1]);
    slot->pid = pid;
    slot->fd = fds[0];
    return AU_OK;
}

/* Reads what is available; closes the fd at EOF. */
static void drain(Slot *slot)
{
    AuhWorkerMsg m;
    ssize_t got = read(slot->fd, &m, sizeof(m));
    if (got < 0 && errno == EINTR)
        return;
    if (got <= 0) {
        close(slot->fd);
        slot->fd = -1;
        return;
    }
    if ((size_t)got != sizeof(m))
        return; /* cannot happen: writes of one message are atomic */
    m.error[sizeof(m.error) - 1] = '\0';
    if (m.kind == AUH_MSG_ERROR) {
        snprintf(slot->worker_error, sizeof(slot->worker_error), "%s", m.error);
        return;
    }
    if (m.kind == AUH_MSG_DONE) {
        slot->done = m;
        slot->got_done = 1;
    }
    slot->frames = m.frames;
    if (m.total > 0)
        slot->total = m.total;
    slot->fps = m.fps;
}

/* A worker ended without reporting a committed job: record it as failed
 * (unless it did commit before dying). */
static void record_lost_job(Runner *r, Slot *slot, const char *why, AuhJobOutcome *out)
{
    const AuhJobSpec *spec = slot->spec;
    AuError err = {0};
    int done = 0;
    /* A connection of its own, closed again: the runner never holds one
     * across a fork (SQLite's advice: a connection must not cross fork()). */
    AuhStore store = {0};
    if (auh_store_open(&store, r->o->db_path, &err)) {
        fprintf(stderr, "auharness: cannot record the failed job %s %s/%s: %s\n", spec->variant, spec->dataset->name,
                spec->item->id, err.msg);
        return;
    }
    if (!auh_store_job_done(&store, r->run_id, spec->variant, spec->dataset->name, spec->item->id, &done, &err) &&
        done) {
        out->failed = 0;
        out->error = NULL;
        auh_store_close(&store);
        return;
    }
    AuhJob job;
    memset(&job, 0, sizeof(job));
    AuhJobInfo info = {spec->variant, spec->dataset->name, spec->item->id, auh_item_kind_name(spec->item->kind),
                       spec->item->rel, spec->item->labels_rel, NULL, NULL, 0, 0, 0, NULL, NULL};
    AuStatus st = auh_job_init(&job, &info, &err);
    if (!st)
        st = auh_job_set_failed(&job, why, &err);
    job.started_at = slot->started_at;
    job.ended_at = auh_wall_time();
    if (!st)
        st = auh_store_commit_job(&store, r->run_id, &job, &err);
    if (st)
        fprintf(stderr, "auharness: cannot record the failed job %s %s/%s: %s\n", spec->variant, spec->dataset->name,
                spec->item->id, err.msg);
    auh_job_free(&job);
    auh_store_close(&store);
}

static void finish_slot(Runner *r, Slot *slot, int status)
{
    const AuhJobSpec *spec = slot->spec;
    AuhJobOutcome o = {spec->variant, spec->dataset->name, spec->item->id, 0, NULL, slot->frames,
                       NAN, NAN, NAN, NAN, 1e-9 * (double)(auh_monotonic_ns() - slot->started_ns)};
    char why[700] = "";
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (slot->got_done) {
        o.failed = slot->done.failed;
        o.error = slot->done.error;
        o.frames = slot->done.frames;
        o.fps = slot->done.fps;
        o.au_mean_r = slot->done.au_mean_r;
        o.lmk_mean_px = slot->done.lmk_mean_px;
        o.lmk_mean_nme = slot->done.lmk_mean_nme;
        if (!clean)
            fprintf(stderr, "auharness: warning: the worker of %s %s/%s ended with %s %d after committing its job\n",
                    spec->variant, spec->dataset->name, spec->item->id,
                    WIFSIGNALED(status) ? "signal" : "status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    } else {
        if (WIFSIGNALED(status))
            snprintf(why, sizeof(why), "worker killed by signal %d (%s)", WTERMSIG(status),
                     signal_abbrev(WTERMSIG(status)));
        else if (slot->worker_error[0])
            snprintf(why, sizeof(why), "worker could not record the job: %s", slot->worker_error);
        else
            snprintf(why, sizeof(why), "worker exited with status %d without recording the job",
                     WEXITSTATUS(status));
        o.failed = 1;
        o.error = why;
        r->n_worker_deaths++;
        record_lost_job(r, slot, why, &o);
    }
    r->n_failed += o.failed != 0;
    if (!is_openface(spec))
        r->frames_finished += slot->frames > 0 ? slot->frames : 0;
    auh_progress_job_done(&r->progress, &o);
    slot->pid = 0;
}

static void draw(Runner *r, int force)
{
    if (!r->progress.tty)
        return;
    AuhProgressState s = {NULL, 0, 0, 0, NAN, NAN};
    char current[256];
    int64_t frames_running = 0;
    for (int i = 0; i < r->n_slots; i++) {
        Slot *sl = &r->slots[i];
        if (!sl->pid)
            continue;
        s.n_running++;
        if (!is_openface(sl->spec))
            frames_running += sl->frames;
        if (!s.current) {
            snprintf(current, sizeof(current), "%s %s", sl->spec->variant, sl->spec->item->id);
            s.current = current;
            s.frames = sl->frames;
            s.total = sl->total;
            s.fps = sl->fps;
        }
    }
    double elapsed = 1e-9 * (double)(auh_monotonic_ns() - r->t0_ns);
    int64_t done = r->frames_finished + frames_running;
    if (r->frames_expected > 0 && done > 0 && elapsed > 1)
        s.eta_s = (double)(r->frames_expected > done ? r->frames_expected - done : 0) / ((double)done / elapsed);
    auh_progress_draw(&r->progress, &s, force);
}

static AuStatus execute(Runner *r, const AuhJobSpec *const *todo, size_t n_todo, AuError *err)
{
    size_t next = 0;
    int active = 0;
    AuStatus st = AU_OK;
    struct pollfd *pfd = calloc((size_t)r->n_slots, sizeof(*pfd));
    int *pidx = calloc((size_t)r->n_slots, sizeof(int));
    if (!pfd || !pidx) {
        free(pfd);
        free(pidx);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    }
    while (next < n_todo || active > 0) {
        for (int i = 0; i < r->n_slots && next < n_todo && !st; i++) {
            if (r->slots[i].pid)
                continue;
            if ((st = spawn(r, &r->slots[i], todo[next], err)))
                break;
            next++;
            active++;
        }
        if (st && !active)
            break;
        int n = 0;
        for (int i = 0; i < r->n_slots; i++)
            if (r->slots[i].pid && r->slots[i].fd >= 0) {
                pfd[n] = (struct pollfd){r->slots[i].fd, POLLIN, 0};
                pidx[n++] = i;
            }
        int ready = poll(pfd, (nfds_t)n, 100);
        if (ready < 0 && errno != EINTR) {
            st = au_error_set(err, AU_ERR_IO, "poll: %s", strerror(errno));
            break;
        }
        for (int k = 0; k < n && ready > 0; k++)
            if (pfd[k].revents)
                drain(&r->slots[pidx[k]]);
        for (int i = 0; i < r->n_slots; i++) {
            Slot *sl = &r->slots[i];
            if (!sl->pid || sl->fd >= 0)
                continue;
            /* EOF: the worker has exited (its pipe is closed only then) */
            int status;
            pid_t w;
            while ((w = waitpid(sl->pid, &status, 0)) < 0 && errno == EINTR)
                ;
            if (w < 0)
                status = 0x7f00; /* cannot happen; reported as exit status 127 */
            finish_slot(r, sl, status);
            active--;
        }
        draw(r, 0);
    }
    free(pfd);
    free(pidx);
    return st;
}

/* ---- the run ---- */

static AuStatus mkdir_parents(const char *path, AuError *err)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return AU_OK;
    *slash = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return au_error_set(err, AU_ERR_IO, "--db '%s': cannot create folder '%s': %s", path, buf,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return au_error_set(err, AU_ERR_IO, "--db '%s': cannot create folder '%s': %s", path, buf, strerror(errno));
    return AU_OK;
}

static void new_run_key(char *buf, size_t n, const AuhSysInfo *si)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    /* host names are at most 64 bytes (HOST_NAME_MAX) */
    snprintf(buf, n, "%s-%.64s-%ld", ts, si->host, (long)getpid());
}

static int64_t expected_frames(const AuhJobSpec *spec, int64_t max_frames)
{
    int64_t n = 0;
    if (spec->item->kind == AUH_ITEM_IMAGES) {
        n = (int64_t)spec->item->n_images;
    } else {
        AuVideo *v = NULL;
        if (!au_video_open(&v, spec->item->path, NULL))
            n = au_video_frame_count(v);
        au_video_close(v);
    }
    if (max_frames > 0 && (n <= 0 || n > max_frames))
        n = max_frames;
    return n > 0 ? n : 0;
}

int auh_run(const AuhRunOptions *o, int64_t *run_id_out)
{
    AuError err = {0};
    AuhPlan plan;
    if (auh_plan_build(&plan, o, &err)) {
        fprintf(stderr, "auharness: %s\n", err.msg);
        return 1;
    }
    int rc = 1;
    AuhStore store = {0};
    Runner r;
    memset(&r, 0, sizeof(r));
    const AuhJobSpec **todo = NULL;
    AuhSysInfo si;
    auh_sysinfo_get(&si);
    char key[AUH_RUN_KEY_MAX];
    if (mkdir_parents(o->db_path, &err) || auh_store_open(&store, o->db_path, &err)) {
        fprintf(stderr, "auharness: %s\n", err.msg);
        goto done;
    }
    int64_t run_id = 0;
    if (o->resume && o->run_key) {
        if (auh_store_find_run(&store, o->run_key, &run_id, &err)) {
            fprintf(stderr, "auharness: %s\n", err.msg);
            goto done;
        }
        if (!run_id) {
            fprintf(stderr, "auharness: --resume --run-key '%s': %s has no run with that key\n", o->run_key,
                    o->db_path);
            goto done;
        }
        snprintf(key, sizeof(key), "%s", o->run_key);
    } else if (o->resume) {
        if (auh_store_latest_unfinished_run(&store, &run_id, key, sizeof(key), &err)) {
            fprintf(stderr, "auharness: %s\n", err.msg);
            goto done;
        }
        if (!run_id) {
            fprintf(stderr, "auharness: --resume: %s has no unfinished run (use --resume --run-key KEY for a "
                            "finished one; `auharness list` shows the runs)\n", o->db_path);
            goto done;
        }
    } else if (o->run_key) {
        snprintf(key, sizeof(key), "%s", o->run_key);
    } else {
        new_run_key(key, sizeof(key), &si);
    }
    AuhRunInfo info = {key, si.git_revision, si.compiler, si.flags, si.cpu, si.host, o->command, auh_wall_time()};
    int existed = 0;
    if (auh_store_begin_run(&store, &info, &run_id, &existed, &err)) {
        fprintf(stderr, "auharness: %s\n", err.msg);
        goto done;
    }
    if (run_id_out)
        *run_id_out = run_id;
    /* The jobs this process runs: its shard's, less those the run has. */
    if (!(todo = calloc(plan.n_jobs ? plan.n_jobs : 1, sizeof(*todo)))) {
        fprintf(stderr, "auharness: out of memory\n");
        goto done;
    }
    size_t n_todo = 0, n_shard = 0, n_have = 0;
    for (size_t i = 0; i < plan.n_jobs; i++) {
        const AuhJobSpec *spec = &plan.jobs[i];
        if (!auh_shard_selects(spec->index, o->shard_k, o->shard_n))
            continue;
        n_shard++;
        int have = 0;
        if (existed && auh_store_job_done(&store, run_id, spec->variant, spec->dataset->name, spec->item->id, &have,
                                          &err)) {
            fprintf(stderr, "auharness: %s\n", err.msg);
            goto done;
        }
        if (have)
            n_have++;
        else
            todo[n_todo++] = spec;
    }
    int tty = o->progress == AUH_PROGRESS_BAR || (o->progress == AUH_PROGRESS_AUTO && isatty(STDERR_FILENO));
    fprintf(stderr, "auharness: run %s %s, %s: %zu jobs", key, existed ? "(continued)" : "(new)", o->db_path, n_shard);
    if (o->shard_n)
        fprintf(stderr, " in shard %d/%d of %zu", o->shard_k, o->shard_n, plan.n_jobs);
    if (n_have)
        fprintf(stderr, ", %zu already done", n_have);
    fprintf(stderr, ", %zu to run on %d worker%s\n", n_todo, o->jobs, o->jobs == 1 ? "" : "s");

    r.o = o;
    r.run_id = run_id;
    r.wcfg.db_path = o->db_path;
    r.wcfg.run_id = run_id;
    r.wcfg.models_dir = o->models_dir;
    r.wcfg.max_frames = o->max_frames;
    r.wcfg.openface = o->openface;
    r.wcfg.progress_fd = -1;
    r.wcfg.fault = getenv(AUH_FAULT_ENV);
    if (r.wcfg.fault && !r.wcfg.fault[0])
        r.wcfg.fault = NULL;
    r.n_slots = o->jobs > 0 ? o->jobs : 1;
    r.self = getpid();
    if (!(r.slots = calloc((size_t)r.n_slots, sizeof(Slot)))) {
        fprintf(stderr, "auharness: out of memory\n");
        goto done;
    }
    if (tty)
        for (size_t i = 0; i < n_todo; i++)
            if (!is_openface(todo[i])) {
                /* the plan is ours: fill in what progress needs */
                AuhJobSpec *spec = (AuhJobSpec *)todo[i];
                spec->expected_frames = expected_frames(spec, o->max_frames);
                r.frames_expected += spec->expected_frames;
            }
    auh_progress_init(&r.progress, stderr, tty, n_todo);
    r.t0_ns = auh_monotonic_ns();
    /* No connection may cross a fork: closed while workers run. */
    auh_store_close(&store);
    AuStatus st = execute(&r, todo, n_todo, &err);
    auh_progress_end(&r.progress);
    if (st || auh_store_open(&store, o->db_path, &err)) {
        fprintf(stderr, "auharness: %s\n", err.msg);
        goto done;
    }
    if (auh_store_end_run(&store, run_id, auh_wall_time(), &err)) {
        fprintf(stderr, "auharness: %s\n", err.msg);
        goto done;
    }
    double wall = 1e-9 * (double)(auh_monotonic_ns() - r.t0_ns);
    fprintf(stderr, "auharness: %zu jobs run in %.1f s, %zu failed%s\n", n_todo, wall, r.n_failed,
            r.n_worker_deaths ? " (workers that died are recorded as failed jobs)" : "");
    rc = 0;
    if (!o->quiet_table) {
        fflush(stderr);
        AuhRunSummary rs;
        if (auh_run_summary_load(&store, run_id, o->gate, &rs, &err)) {
            fprintf(stderr, "auharness: %s\n", err.msg);
            rc = 1;
        } else {
            auh_run_summary_write_table(&rs, stdout);
            fputc('\n', stdout);
            auh_run_summary_write_gate(&rs, stdout);
            auh_run_summary_write_verdict(&rs, stdout);
            auh_run_summary_free(&rs);
        }
        fflush(stdout);
    }
    if (o->report_dir) {
        AuhReportOptions ro = {.out_dir = o->report_dir, .data_dir = o->data_dir, .threshold = o->gate, .plots = 1};
        AuhReportResult res;
        if (auh_report_write(&store, run_id, &ro, &res, &err)) {
            fprintf(stderr, "auharness: report: %s\n", err.msg);
            rc = 1;
        } else {
            fprintf(stderr, "auharness: report written: %s (%d plots%s%s)\n", res.html, res.n_plots,
                    res.plot_error[0] ? "; " : "", res.plot_error);
        }
    }
    if (o->export_json && auh_export_run(&store, run_id, o->export_json, AUH_EXPORT_JSON, &err)) {
        fprintf(stderr, "auharness: %s\n", err.msg);
        rc = 1;
    }
    if (o->export_csv && auh_export_run(&store, run_id, o->export_csv, AUH_EXPORT_CSV, &err)) {
        fprintf(stderr, "auharness: %s\n", err.msg);
        rc = 1;
    }
done:
    free(r.slots);
    free(todo);
    auh_store_close(&store);
    auh_plan_free(&plan);
    return rc;
}
