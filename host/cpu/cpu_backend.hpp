// The CPU backend: trains a Program in double precision on this machine's CPU (see
// cpu_backend.cpp for how a batch is evaluated).
#pragma once

#include <memory>

#include "backend/backend.hpp"
#include "program/program.hpp"

namespace descent {

std::unique_ptr<Backend> make_cpu_backend(const Program& program);

}  // namespace descent
