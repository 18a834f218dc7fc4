// Atomic file replacement: readers of `path` see either the old file or the complete new one,
// never a half-written file, even if the process or the machine dies midway. Used for data,
// checkpoints and anything else a later run reads back.
// Does not: keep the old file's permissions or owner (the new file gets 0666 less the umask),
// lock against other processes, or serialise threads of one process writing the same path.
#pragma once

#include <string>
#include <string_view>

namespace descent {

// Writes `bytes` to "PATH.tmp-<pid>", fsyncs it, renames it over `path`, then fsyncs the
// directory so that the rename itself survives a crash. On failure the temporary file is
// removed, `path` is left as it was, and Error(ExitCode::io_error, "cannot write file 'PATH':
// <strerror> ...") is thrown.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace descent
