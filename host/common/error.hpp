// The one exception type of descent: a message, an optional source span, and the process exit
// code that the CLI turns it into. The CLI catches it in one place (host/cli/main.cpp).
#pragma once

#include <stdexcept>
#include <string>

#include "common/source.hpp"

namespace descent {

// Documented exit codes (README, "Exit codes").
enum class ExitCode : int {
  ok = 0,
  failure = 1,       // an internal error or a failed check (gradcheck, check)
  bad_input = 2,     // a malformed config, expression, data file or command-line flag
  diverged = 3,      // a non-finite loss or gradient stopped training
  io_error = 4,      // a file could not be read or written
  no_device = 5,     // --device gpu but no GPU answered
  interrupted = 130  // SIGINT/SIGTERM: a checkpoint was written, then the run stopped
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message, Span span = {}, std::string note = {});

  ExitCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const Span& span() const { return span_; }
  const std::string& note() const { return note_; }

  // "file:line:col: error: message\n  source line\n  ^~~\nnote" (what() returns the same).
  std::string render() const;

 private:
  ExitCode code_;
  std::string message_;
  Span span_;
  std::string note_;
  std::string rendered_;
};

// A user error in the input: exit code 2.
inline Error input_error(std::string message, Span span = {}, std::string note = {}) {
  return Error(ExitCode::bad_input, std::move(message), std::move(span), std::move(note));
}

}  // namespace descent
