// compile_cuda over NVRTC, with the on-disk cache of compiled kernels (DESIGN §5): the key is a
// hash of everything that decides the binary (source, named headers, name, options,
// architecture, NVRTC version); the entry is <key>.cubin with <key>.cu beside it (the source
// under a header that lists those inputs) and <key>.log (NVRTC's log with ptxas' report). A hit
// needs both files, the .cu equal to what this call would write (so a hash collision or a stale
// entry is recompiled, not trusted) and a cubin that starts as an ELF image does. Entries are
// written atomically (common/atomic_file), .cu first. Not here: loading or launching the cubin
// (that needs a device), eviction of old entries.
#include <nvrtc.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "cuda/api/gpu_api.hpp"

namespace descent::gpu {

namespace {

namespace fs = std::filesystem;

struct ProgramDeleter {
  void operator()(nvrtcProgram program) const { nvrtcDestroyProgram(&program); }
};
using ProgramHandle = std::unique_ptr<_nvrtcProgram, ProgramDeleter>;

void check(nvrtcResult result, const std::string& what) {
  if (result != NVRTC_SUCCESS)
    throw Error(ExitCode::failure, what + ": " + nvrtcGetErrorString(result));
}

// NVRTC 12.9 and later keep compiled code in a cache of their own, and a compile answered from
// it has no ptxas report in its log: on an H200 machine (NVRTC 13.0, driver 580) the second
// compile of one source in a process reported nothing, and the resource budget then failed.
// descent keeps its own cache on disk (compile_cuda) and needs the report of every compile, so
// NVRTC's is turned off where it exists (older NVRTCs refuse the option).
bool nvrtc_has_its_own_cache() {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) return false;
  return major > 12 || (major == 12 && minor >= 9);
}

std::vector<std::string> nvrtc_options(const CompileOptions& options) {
  std::vector<std::string> all = {"--gpu-architecture=sm_" + std::to_string(options.arch),
                                  "-std=c++17", "--ptxas-options=--verbose"};
  if (nvrtc_has_its_own_cache()) all.emplace_back("--no-cache");
  all.insert(all.end(), options.flags.begin(), options.flags.end());
  return all;
}

// 64-bit FNV-1a, fed each field's length before its bytes so that fields cannot run together.
class Hash {
 public:
  void add(std::string_view bytes) {
    const std::uint64_t size = bytes.size();
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(size >> (8 * i)));
    for (char c : bytes) mix(static_cast<unsigned char>(c));
  }
  std::string hex() const {
    static const char* digits = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[15 - i] = digits[(value_ >> (4 * i)) & 0xf];
    return out;
  }

 private:
  void mix(unsigned char c) {
    value_ ^= c;
    value_ *= 0x100000001b3ULL;
  }
  std::uint64_t value_ = 0xcbf29ce484222325ULL;
};

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

bool looks_like_elf(const std::string& bytes) {
  return bytes.rfind(
             "\x7f"
             "ELF",
             0) == 0;
}

// The text kept as <key>.cu: the inputs of the key as comments (the named headers' text in
// full, so that an edited header makes another key), then the source.
std::string cache_entry_source(const std::string& source, const std::string& name,
                               const std::vector<std::string>& options,
                               const std::vector<NamedHeader>& headers) {
  std::ostringstream text;
  text << "// descent kernel cache entry: '" << name << "', NVRTC " << nvrtc_version() << "\n";
  text << "// options:";
  for (const std::string& o : options) text << ' ' << o;
  text << "\n";
  for (const NamedHeader& h : headers) {
    text << "#if 0 // named header '" << h.name << "', " << h.text.size() << " bytes\n"
         << h.text << "\n#endif\n";
  }
  text << source;
  return text.str();
}

CompiledKernel compile_with_nvrtc(const std::string& source, const std::string& name,
                                  const std::vector<std::string>& options,
                                  const std::vector<NamedHeader>& headers) {
  std::vector<const char*> header_texts, header_names;
  for (const NamedHeader& h : headers) {
    header_texts.push_back(h.text.c_str());
    header_names.push_back(h.name.c_str());
  }
  nvrtcProgram raw = nullptr;
  check(nvrtcCreateProgram(&raw, source.c_str(), name.c_str(), static_cast<int>(headers.size()),
                           header_texts.data(), header_names.data()),
        "cannot create the NVRTC program '" + name + "'");
  const ProgramHandle program(raw);
  std::vector<const char*> argv;
  for (const std::string& o : options) argv.push_back(o.c_str());
  const nvrtcResult compiled = nvrtcCompileProgram(raw, static_cast<int>(argv.size()), argv.data());
  CompiledKernel out;
  std::size_t log_size = 0;
  check(nvrtcGetProgramLogSize(raw, &log_size), "cannot read NVRTC's log for '" + name + "'");
  if (log_size > 1) {
    out.log.resize(log_size);
    check(nvrtcGetProgramLog(raw, out.log.data()), "cannot read NVRTC's log for '" + name + "'");
    out.log.resize(log_size - 1);  // the terminating NUL
  }
  if (compiled != NVRTC_SUCCESS)
    throw Error(ExitCode::failure, "NVRTC could not compile '" + name + "' (" +
                                       nvrtcGetErrorString(compiled) + "):\n" + out.log);
  std::size_t size = 0;
  check(nvrtcGetCUBINSize(raw, &size), "cannot read the cubin of '" + name + "'");
  out.cubin.resize(size);
  check(nvrtcGetCUBIN(raw, out.cubin.data()), "cannot read the cubin of '" + name + "'");
  return out;
}

}  // namespace

std::string nvrtc_version() {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) return "unknown";
  return std::to_string(major) + "." + std::to_string(minor);
}

CompiledKernel compile_cuda(const std::string& source, const std::string& name,
                            const CompileOptions& options) {
  const std::vector<std::string> all_options = nvrtc_options(options);
  if (options.cache_dir.empty())
    return compile_with_nvrtc(source, name, all_options, options.headers);

  const std::string entry_source = cache_entry_source(source, name, all_options, options.headers);
  Hash hash;
  hash.add(entry_source);
  const fs::path dir(options.cache_dir);
  const fs::path cubin_path = dir / (hash.hex() + ".cubin");
  const fs::path source_path = dir / (hash.hex() + ".cu");
  const fs::path log_path = dir / (hash.hex() + ".log");

  const std::optional<std::string> kept_source = read_file(source_path);
  if (kept_source && *kept_source == entry_source) {
    std::optional<std::string> cubin = read_file(cubin_path);
    std::optional<std::string> log = read_file(log_path);
    if (cubin && looks_like_elf(*cubin) && log) {
      CompiledKernel hit;
      hit.cubin = std::move(*cubin);
      hit.log = std::move(*log);
      hit.cache_path = cubin_path.string();
      hit.from_cache = true;
      return hit;
    }
  }

  CompiledKernel out = compile_with_nvrtc(source, name, all_options, options.headers);
  try {
    fs::create_directories(dir);
    write_file_atomically(source_path.string(), entry_source);
    write_file_atomically(log_path.string(), out.log);
    write_file_atomically(cubin_path.string(), out.cubin);
    out.cache_path = cubin_path.string();
  } catch (const std::exception&) {
    // An unwritable cache only loses the reuse: the kernel itself is compiled.
  }
  return out;
}

}  // namespace descent::gpu
