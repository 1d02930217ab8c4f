// How many blob transfers one client keeps in flight, and the connections its own undici
// Agent opens to carry them.
//
// A pull is mostly waiting on the registry (a Spin app's layers are mostly small files, each
// one request), so more requests in flight shorten it until the registry itself is the
// limit. On the 302-layer bench (packages/oci/bench/push-pull.ts, idle machine) the pull took
// 0.93 of skopeo's time at 8 downloads, 0.76 at 16 and 0.61 at 32; 64 did no better than 32
// under shared load.
//
// A push waits on the registry's disk more than on its CPU: docker-registry's filesystem
// driver flushes every file it writes (`fileWriter.Commit` and `Close` call `Sync` in
// distribution's registry/storage/driver/filesystem/driver.go), several per blob uploaded.
// With our CPU per push halved, 8 uploads in flight left the two cores partly idle; 16 took
// 0.78 and 0.82 of the time of 8 (two same-run A/Bs of six rounds, load average 5-12), and 32
// did no better than 16.

/** Blob downloads in flight at once across one registry client, and in one app pull. */
export const DOWNLOAD_CONCURRENCY = 32;

/** Blob uploads in flight at once across one registry client. */
export const UPLOAD_CONCURRENCY = 16;

/** Connections per origin of the client's own Agent: one per download in flight. */
export const CONNECTIONS_PER_ORIGIN = DOWNLOAD_CONCURRENCY;
