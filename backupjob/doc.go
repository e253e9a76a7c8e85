// Package backupjob takes PostgreSQL backups that are proven restorable.
//
// A Job dumps one database on a schedule ("03:00" local time, or a 5-field
// cron expression) with pg_dump, in the custom format (pg_dump -Fc) or as
// gzip-compressed plain SQL. The bytes stream into {dir}/.partial/ through
// a SHA-256 hasher (and age encryption when recipients are configured), are
// fsynced and renamed into {dir} with the directory fsynced, beside a JSON
// manifest. A crash at any point leaves no file that List shows or that
// retention counts; leftovers in .partial/ are removed at the next start.
//
// Row counts per table are taken in the same snapshot as the dump (an
// exported snapshot of a repeatable-read transaction held open while
// pg_dump runs with --snapshot), and verification restores the backup into
// an isolated target (a throwaway cluster, or a temporary database on the
// same server) and compares the counts. Retention keeps daily, weekly and
// monthly backups (GFS), never deletes the newest verified backup, and
// deletes nothing while the newest attempt has failed.
//
// Two backups never run at once: a flock on {dir}/.lock serializes the
// processes on one host, and pg_try_advisory_lock serializes edge nodes
// that share the database.
package backupjob
