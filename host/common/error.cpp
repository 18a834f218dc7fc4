// Rendering of descent::Error in the style of a compiler diagnostic.
#include "common/error.hpp"

namespace descent {

namespace {
std::string render_error(const std::string& message, const Span& span, const std::string& note) {
  std::string out;
  if (span.valid()) out += span.where() + ": ";
  out += "error: " + message;
  if (span.valid()) out += "\n" + span.excerpt();
  if (!note.empty()) out += "\nnote: " + note;
  return out;
}
}  // namespace

Error::Error(ExitCode code, std::string message, Span span, std::string note)
    : std::runtime_error(render_error(message, span, note)),
      code_(code),
      message_(std::move(message)),
      span_(std::move(span)),
      note_(std::move(note)) {
  rendered_ = std::runtime_error::what();
}

std::string Error::render() const { return rendered_; }

}  // namespace descent
