#!/usr/bin/env python3
"""snapshot.py ROOT - print one line per path under ROOT (except
var/lib/mailstage): type, mode, uid, gid, sha256 of the content or the link
target, and every extended attribute (security.selinux included).  Two
snapshots are equal exactly when the trees are identical in what a rollback
must restore."""
import hashlib, os, stat, sys

root = sys.argv[1].rstrip('/')
skip = os.path.join(root, 'var/lib/mailstage')
out = []
for dirpath, dirnames, filenames in os.walk(root):
    if dirpath == skip or dirpath.startswith(skip + '/'):
        dirnames[:] = []
        continue
    for name in sorted(dirnames + filenames):
        p = os.path.join(dirpath, name)
        if p == skip:
            continue
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode):
            with open(p, 'rb') as f:
                h = hashlib.sha256(f.read()).hexdigest()
            kind = 'f'
        elif stat.S_ISLNK(st.st_mode):
            h, kind = os.readlink(p), 'l'
        else:
            h, kind = '-', 'd' if stat.S_ISDIR(st.st_mode) else '?'
        try:
            xa = sorted('%s=%s' % (k, os.getxattr(p, k, follow_symlinks=False).hex())
                        for k in os.listxattr(p, follow_symlinks=False))
        except OSError:
            xa = []
        out.append('%s %s %04o %d:%d %s %s' % (p[len(root):], kind, stat.S_IMODE(st.st_mode),
                                                st.st_uid, st.st_gid, h, ' '.join(xa)))
print('\n'.join(sorted(out)))
