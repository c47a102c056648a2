/*
 * payload.h - the files mailstage ships besides its binary: the example
 * configuration, templates, units, manual pages and shell completion.
 *
 * They are embedded in the binary as one tar archive (built from payload/
 * at build time, read with libarchive from memory) so that a single copied
 * binary still works.  A file of the same name under the data directory
 * (MAILSTAGE_DATADIR, /usr/share/mailstage; the environment variable of the
 * same name overrides it) takes precedence over the embedded copy.
 *
 * Names are relative paths as in the archive: "mailstage.conf.example",
 * "units/mailstage-converge.service", "man/mailstage.8", ...
 */
#ifndef MAILSTAGE_PAYLOAD_H
#define MAILSTAGE_PAYLOAD_H

#include <stddef.h>

#include "util.h"

/* Defined by the generated build/gen/payload_tar.c (a ustar archive). */
extern const unsigned char mailstage_payload_tar[];
extern const size_t mailstage_payload_tar_len;

/* The data directory consulted for overrides (never NULL). */
const char *payload_datadir(void);

/*
 * The bytes of payload file NAME: DATADIR/NAME when that file exists, else
 * the embedded copy.  *data is NUL-terminated (len excludes it), caller frees.
 * *overridden (may be NULL) tells which one it was.  0, -ENOENT when NAME is
 * neither on disk nor embedded, -EINVAL for a bad name, or -errno.
 */
int payload_get(const char *name, char **data, size_t *len, int *overridden);

/* Names of the embedded files, in archive order.  0 or -errno. */
int payload_list(struct strv *names);

/*
 * Write every payload file (the override when present, else the embedded
 * copy) under DIR, creating DIR and subdirectories (0755; files 0644).
 * Existing files are replaced atomically.  0 or -errno, with a message.
 */
int payload_extract(const char *dir);

/* `mailstage payload [--extract DIR]`: list the files, or write them out.  Exit code. */
int cmd_payload(const char *extract_dir);

#endif
