// descent_bench_derive: how long parse → lower → stabilize → derive → simplify take on
// generated expressions of about 1k, 10k and 100k graph nodes (expression_families.hpp).
//
// Each case is run several times on a fresh Graph; every phase's time is the median over the
// runs (the total is the median of per-run totals, not the sum of medians). Small cases repeat
// until --budget seconds are spent (at least --min-reps, at most --max-reps runs); a case whose
// first run takes longer than --budget is measured once more at most. The first run of a case is
// a warm-up and is discarded unless it is the only one. Each rep starts on a fresh heap (see
// start_rep; --heap kept leaves the allocator as the reps before left it).
//
// Prints a table, the 10x-size scaling exponent of each phase (≈1 linear, ≈2 quadratic), and
// with --json FILE writes the same figures. --digests also prints a digest of each case's whole
// graph, every node in id order: a change to the engine that keeps every digest builds the same
// graphs node for node. --write-config FILE writes a config whose cost is one case's expression,
// for timing `descent derive` end to end (scripts/bench_derive_config.sh). Exits 2 on a bad
// flag, 1 when a phase throws.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/resource.h>

#include "ad/derive.hpp"
#include "common/error.hpp"
#include "expr/ast.hpp"
#include "expression_families.hpp"
#include "graph/simplify.hpp"

namespace descent::bench {
namespace {

// Wall time by default; --clock cpu reads the thread's CPU time instead, which leaves out the
// time other processes hold the core (on a shared machine) but not what they do to the caches.
bool g_cpu_clock = false;

double now_ms() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  if (g_cpu_clock) {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
  }
#endif
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Whether each rep starts on a fresh heap (--heap fresh, the default where the C library can
// give memory back: glibc) or on whatever the reps before left the allocator with (--heap kept).
#if defined(__GLIBC__)
constexpr bool kCanTrim = true;
#else
constexpr bool kCanTrim = false;
#endif
bool g_fresh_heap = kCanTrim;

// Before each rep, outside its clock: the memory the C library kept from the reps before, of
// this size or another, is given back to the system, so that the rep pays again for the memory
// it touches, as a one-shot run (`descent derive`) pays for all of its own. It is not a new
// process: glibc's thresholds stay where the reps before raised them. Without it the sizes are
// not timed alike. glibc maps a large block on its own and unmaps it when it is freed, so a large
// case pays its page faults in every rep; a small case's blocks come from the heap, which after a
// large case's reps keeps what is freed (glibc raises its thresholds to the size of the mapped
// blocks freed, up to 32 MiB). So a 10k case timed in the same process as a 100k case spent 0.02
// ms a rep in the kernel (5 ms of 25 in a process of its own, and with the heap given back),
// while the 100k case paid for its memory in every rep: its time per node was compared with a
// small case that alone paid nothing for its memory. The choice moves the per-node ratio of the
// totals by itself (by 0.05 to 0.2 on this project's machines), so ratios taken with --heap kept
// (every one before this option) compare only with each other; the ratio of user time alone,
// printed beside, leaves the kernel's part out either way (not the cache misses of cold memory).
void start_rep() {
#if defined(__GLIBC__)
  if (g_fresh_heap) malloc_trim(0);
#endif
}

// The calling thread's CPU time so far, in user code and in the kernel (where the system reports
// a thread's own: kThreadSplit). Linux splits a thread's time between the two by sampling at its
// tick (every 4 ms at 250 Hz): the split of one short rep is coarse, the mean over many reps is
// not.
#if defined(RUSAGE_THREAD)
constexpr bool kThreadSplit = true;
#else
constexpr bool kThreadSplit = false;
#endif
struct ThreadTimes {
  double user_ms = 0.0;
  double kernel_ms = 0.0;
};

ThreadTimes thread_times() {
  ThreadTimes t;
#if defined(RUSAGE_THREAD)
  rusage usage{};
  if (getrusage(RUSAGE_THREAD, &usage) == 0) {
    const auto ms = [](const timeval& v) {
      return static_cast<double>(v.tv_sec) * 1e3 + static_cast<double>(v.tv_usec) * 1e-3;
    };
    t.user_ms = ms(usage.ru_utime);
    t.kernel_ms = ms(usage.ru_stime);
  }
#endif
  return t;
}

// The phases in the order they run.
enum Phase { kParse, kLower, kStabilize, kDerive, kSimplify, kTotal, kPhases };
constexpr const char* kPhaseNames[kPhases] = {"parse",  "lower",    "stabilize",
                                              "derive", "simplify", "total"};

struct RunTimes {
  double ms[kPhases] = {};
  ThreadTimes split;  // the timed phases' thread time, in user code and in the kernel
};

// What one run produced besides its timings (identical on every run of a case).
struct RunShape {
  std::size_t nodes_in = 0;        // reachable from the lowered expression
  std::size_t nodes_stable = 0;    // reachable from stabilize's root
  std::size_t wrt = 0;             // gradients taken
  std::size_t grad_nodes_raw = 0;  // reachable from derive_gradients(simplify=false)
  std::size_t grad_nodes = 0;      // reachable from the simplified gradients
  std::size_t graph_size = 0;      // every node the graph ever interned
  RewriteStats simplify_stats;
  std::uint64_t digest = 0;  // of every node the graph holds, in id order, and of the roots
};

struct CaseResult {
  Family family = Family::scalar_mix;
  std::size_t target = 0;
  std::size_t units = 0;
  std::size_t text_bytes = 0;
  RunShape shape;
  int reps = 0;
  double median_ms[kPhases] = {};
  double min_ms[kPhases] = {};
  std::vector<double> round_total_ms;  // the median total of each round's reps (--rounds)
  ThreadTimes mean_split;              // the timed reps' thread time, user and kernel (means)
  // Internal: the text timed, the reps each round runs, and every rep's times.
  std::string text;
  int reps_a_round = 0;
  std::vector<RunTimes> runs;
};

struct Options {
  std::vector<Family> families{std::begin(kAllFamilies), std::end(kAllFamilies)};
  std::vector<std::size_t> sizes{1000, 10000, 100000};
  std::uint64_t seed = 20240607;
  double budget_s = 2.0;
  int min_reps = 3;
  int max_reps = 51;
  std::string json_path;
  std::string config_path;  // --write-config
  bool digests = false;     // --digests: print each case's graph digest
  int rounds = 1;           // --rounds: a family's sizes take turns this many times
};

// One parse → lower → stabilize → derive → simplify on a fresh graph.
// FNV-1a over every field that makes a node what it is, for every node in id order (those that
// became unreachable too), then the roots: two builds of the engine that give the same digest
// built the same graph node for node, so everything printed or emitted from it is the same.
class Digest {
 public:
  template <class T>
  void add(const T& value) {
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    for (unsigned char b : bytes) hash_ = (hash_ ^ b) * 0x100000001b3ULL;
  }
  void add_graph(const Graph& graph) {
    add(graph.size());
    for (NodeId id = 0; id < graph.size(); ++id) {
      const Node& n = graph[id];
      add(n.op);
      add(n.arity);
      add(n.varying);
      add(n.var_kind);
      add(n.child);
      add(n.value);
      const Shape attr = graph.attr(n);
      for (const Shape* s : {&n.shape, &attr}) {
        add(s->rank);
        add(s->dims);
      }
      add(n.name.size());
      for (char c : n.name) add(c);
    }
  }
  void add_roots(const std::vector<NodeId>& roots) {
    add(roots.size());
    for (NodeId r : roots) add(r);
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

RunTimes run_once(Family family, const std::string& text, RunShape* shape) {
  RunTimes t;
  const ThreadTimes split0 = thread_times();
  const double t0 = now_ms();
  const expr::AstPtr ast = expr::parse_expression(text, std::string(family_name(family)));
  const double t1 = now_ms();
  Graph graph;
  const NameScope scope = family_scope(family, graph);
  const NodeId root = lower_expression(graph, *ast, scope);
  const double t2 = now_ms();
  const std::vector<NodeId> stable = stabilize(graph, {root});
  const double t3 = now_ms();
  const ThreadTimes split3 = thread_times();
  // Choosing the variables is bookkeeping, not a phase: it stays outside the clock.
  const std::vector<NodeId> wrt = gradient_variables(family, graph, stable[0]);
  GradientOptions raw;
  raw.simplify = false;
  const ThreadTimes split4 = thread_times();
  const double t4 = now_ms();
  const std::vector<NodeId> gradients = derive_gradients(graph, stable[0], wrt, raw);
  const double t5 = now_ms();
  RewriteStats stats;
  const std::vector<NodeId> simplified = simplify(graph, gradients, &stats);
  const double t6 = now_ms();
  const ThreadTimes split6 = thread_times();
  t.split.user_ms = (split3.user_ms - split0.user_ms) + (split6.user_ms - split4.user_ms);
  t.split.kernel_ms = (split3.kernel_ms - split0.kernel_ms) + (split6.kernel_ms - split4.kernel_ms);

  t.ms[kParse] = t1 - t0;
  t.ms[kLower] = t2 - t1;
  t.ms[kStabilize] = t3 - t2;
  t.ms[kDerive] = t5 - t4;
  t.ms[kSimplify] = t6 - t5;
  t.ms[kTotal] = t.ms[kParse] + t.ms[kLower] + t.ms[kStabilize] + t.ms[kDerive] + t.ms[kSimplify];
  if (shape) {
    shape->nodes_in = graph.count_reachable({root});
    shape->nodes_stable = graph.count_reachable(stable);
    shape->wrt = wrt.size();
    shape->grad_nodes_raw = graph.count_reachable(gradients);
    shape->grad_nodes = graph.count_reachable(simplified);
    shape->graph_size = graph.size();
    shape->simplify_stats = stats;
    Digest digest;
    digest.add_graph(graph);
    digest.add_roots({root});
    digest.add_roots(stable);
    digest.add_roots(gradients);
    digest.add_roots(simplified);
    shape->digest = digest.value();
  }
  return t;
}

std::size_t lowered_nodes(Family family, std::size_t units, std::uint64_t seed) {
  const std::string text = generate_expression(family, units, seed);
  const expr::AstPtr ast = expr::parse_expression(text);
  Graph graph;
  return graph.count_reachable({lower_expression(graph, *ast, family_scope(family, graph))});
}

// The number of units whose lowered expression has about `target` nodes (within 3%, or the
// best of a few proportional corrections: hash-consing makes the count slightly sublinear).
std::size_t calibrate_units(Family family, std::size_t target, std::uint64_t seed) {
  std::size_t units = std::max<std::size_t>(1, target / 20);
  std::size_t best_units = units;
  double best_error = 1e300;
  for (int step = 0; step < 6; ++step) {
    const std::size_t nodes = lowered_nodes(family, units, seed);
    const double error = std::fabs(static_cast<double>(nodes) - static_cast<double>(target)) /
                         static_cast<double>(target);
    if (error < best_error) {
      best_error = error;
      best_units = units;
    }
    if (error < 0.03) break;
    const double scaled = static_cast<double>(units) * static_cast<double>(target) /
                          static_cast<double>(std::max<std::size_t>(nodes, 1));
    const std::size_t next =
        std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(scaled)));
    if (next == units) break;
    units = next;
  }
  return best_units;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Calibrates the case, runs it once untimed (the warm-up, which also records its shape) and
// works out how many timed reps the budget buys, spread over options.rounds rounds: at least
// one a round, so that each round has a time of every size (a slow case runs once a round).
CaseResult prepare_case(Family family, std::size_t target, const Options& options) {
  CaseResult result;
  result.family = family;
  result.target = target;
  result.units = calibrate_units(family, target, options.seed);
  result.text = generate_expression(family, result.units, options.seed);
  result.text_bytes = result.text.size();

  start_rep();
  const RunTimes warmup = run_once(family, result.text, &result.shape);
  const double first_s = warmup.ms[kTotal] / 1000.0;
  int wanted = 0;
  if (first_s > options.budget_s) {
    wanted = first_s > 10.0 * options.budget_s ? 0 : 1;  // already slow: one more a round
    if (wanted == 0) result.runs.push_back(warmup);
  } else {
    wanted = static_cast<int>(std::ceil(options.budget_s / std::max(first_s, 1e-6)));
    wanted = std::clamp(wanted, options.min_reps, options.max_reps);
  }
  result.reps_a_round =
      wanted == 0 ? 0 : std::max(1, (wanted + options.rounds - 1) / options.rounds);
  return result;
}

// One round of a case's timed reps; its median total is kept as the round's.
void run_round(CaseResult& result) {
  std::vector<double> totals;
  for (int r = 0; r < result.reps_a_round; ++r) {
    start_rep();
    result.runs.push_back(run_once(result.family, result.text, nullptr));
    totals.push_back(result.runs.back().ms[kTotal]);
  }
  if (!totals.empty()) result.round_total_ms.push_back(median(totals));
}

void summarize(CaseResult& result) {
  result.reps = static_cast<int>(result.runs.size());
  for (int p = 0; p < kPhases; ++p) {
    std::vector<double> values;
    for (const RunTimes& run : result.runs) values.push_back(run.ms[p]);
    result.median_ms[p] = median(values);
    result.min_ms[p] = *std::min_element(values.begin(), values.end());
  }
  for (const RunTimes& run : result.runs) {
    result.mean_split.user_ms += run.split.user_ms / result.reps;
    result.mean_split.kernel_ms += run.split.kernel_ms / result.reps;
  }
  result.text.clear();
  result.text.shrink_to_fit();
}

// Every size of a family, in rounds: each round runs each size's share of reps in turn, so
// that a slow spell of a shared machine falls on the sizes of a round alike.
std::vector<CaseResult> run_family(Family family, const Options& options) {
  std::vector<CaseResult> cases;
  for (std::size_t size : options.sizes) cases.push_back(prepare_case(family, size, options));
  for (int round = 0; round < options.rounds; ++round)
    for (CaseResult& c : cases) run_round(c);
  for (CaseResult& c : cases) summarize(c);
  return cases;
}

// ---- output ----

std::string format_ms(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, ms < 10 ? "%.3f" : ms < 1000 ? "%.1f" : "%.0f", ms);
  return buffer;
}

void print_header() {
  std::printf("%-11s %7s %8s %8s %9s %9s %6s %5s", "family", "target", "nodes in", "stable",
              "grad raw", "grad simp", "passes", "reps");
  for (int p = 0; p < kPhases; ++p)
    std::printf(" %11s", (std::string(kPhaseNames[p]) + " ms").c_str());
  std::printf("\n");
}

void print_row(const CaseResult& r) {
  const std::string passes =
      std::to_string(r.shape.simplify_stats.passes) + (r.shape.simplify_stats.hit_cap ? "!" : "");
  std::printf("%-11s %7zu %8zu %8zu %9zu %9zu %6s %5d", std::string(family_name(r.family)).c_str(),
              r.target, r.shape.nodes_in, r.shape.nodes_stable, r.shape.grad_nodes_raw,
              r.shape.grad_nodes, passes.c_str(), r.reps);
  for (int p = 0; p < kPhases; ++p) std::printf(" %11s", format_ms(r.median_ms[p]).c_str());
  std::printf("\n");
  std::fflush(stdout);
}

// Each round's time per input node of `b` over that of `a` (1 = linear).
std::vector<double> per_node_ratios(const CaseResult& a, const CaseResult& b) {
  std::vector<double> ratios;
  const std::size_t n = std::min(a.round_total_ms.size(), b.round_total_ms.size());
  for (std::size_t r = 0; r < n; ++r)
    ratios.push_back((b.round_total_ms[r] / static_cast<double>(b.shape.nodes_in)) /
                     std::max(a.round_total_ms[r] / static_cast<double>(a.shape.nodes_in), 1e-12));
  return ratios;
}

// log(t2/t1) / log(n2/n1) for consecutive sizes of the same family: ≈1 linear, ≈2 quadratic.
void print_scaling(const std::vector<CaseResult>& results) {
  std::printf("\nscaling exponent, time ~ nodes^k, between consecutive sizes (1 = linear):\n");
  std::printf("%-11s %17s", "family", "nodes");
  for (int p = 0; p < kPhases; ++p) std::printf(" %9s", kPhaseNames[p]);
  std::printf("   per-node time ratio, total: median of rounds [range], of fastest reps\n");
  for (std::size_t i = 1; i < results.size(); ++i) {
    const CaseResult& a = results[i - 1];
    const CaseResult& b = results[i];
    if (a.family != b.family) continue;
    const double size_ratio =
        static_cast<double>(b.shape.nodes_in) / static_cast<double>(a.shape.nodes_in);
    char sizes[40];
    std::snprintf(sizes, sizeof sizes, "%zu->%zu", a.shape.nodes_in, b.shape.nodes_in);
    std::printf("%-11s %17s", std::string(family_name(a.family)).c_str(), sizes);
    for (int p = 0; p < kPhases; ++p) {
      const double ratio = b.median_ms[p] / std::max(a.median_ms[p], 1e-6);
      std::printf(" %9.2f", std::log(ratio) / std::log(size_ratio));
    }
    const std::vector<double> ratios = per_node_ratios(a, b);
    if (!ratios.empty())
      std::printf("   %.2f [%.2f-%.2f]", median(ratios),
                  *std::min_element(ratios.begin(), ratios.end()),
                  *std::max_element(ratios.begin(), ratios.end()));
    // The fastest rep of each size (every case has one) is the one other work on a shared
    // machine disturbed least; a slow spell that falls on the small size alone makes the median
    // look better than it is.
    std::printf(", %.2f",
                (b.min_ms[kTotal] / static_cast<double>(b.shape.nodes_in)) /
                    std::max(a.min_ms[kTotal] / static_cast<double>(a.shape.nodes_in), 1e-12));
    std::printf("\n");
  }
}

// Each case's timed reps split into user code and the kernel (means a rep), and the time per
// node in user code alone of each size against the one before: the kernel's part is mostly page
// faults (the memory a rep touches first), which depends on the allocator's state (--heap) as
// much as on the engine, and user time leaves it out.
void print_thread_split(const std::vector<CaseResult>& results) {
  if (!kThreadSplit) return;
  std::printf(
      "\nthread time a rep in user code and in the kernel (means of the timed reps; Linux splits "
      "the\ntwo by sampling at its tick), and the per-node time ratio of user code alone:\n");
  std::printf("%-11s %9s %10s %10s\n", "family", "nodes", "user ms", "kernel ms");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CaseResult& r = results[i];
    const double user = r.mean_split.user_ms;
    const double kernel = r.mean_split.kernel_ms;
    std::printf("%-11s %9zu %10s %10s", std::string(family_name(r.family)).c_str(),
                r.shape.nodes_in, format_ms(user).c_str(), format_ms(kernel).c_str());
    const CaseResult* before = i > 0 ? &results[i - 1] : nullptr;
    if (before && before->family == r.family) {
      const double user_before = before->mean_split.user_ms;
      std::printf("   %.2f",
                  (user / static_cast<double>(r.shape.nodes_in)) /
                      std::max(user_before / static_cast<double>(before->shape.nodes_in), 1e-12));
    }
    std::printf("\n");
  }
}

void write_json(const std::string& path, const Options& options,
                const std::vector<CaseResult>& results) {
  std::ostringstream out;
  out << "{\n  \"benchmark\": \"descent_bench_derive\",\n  \"seed\": " << options.seed
      << ",\n  \"budget_s\": " << options.budget_s << ",\n  \"rounds\": " << options.rounds
      << ",\n  \"clock\": \"" << (g_cpu_clock ? "cpu" : "wall") << "\",\n  \"heap\": \""
      << (g_fresh_heap ? "fresh" : "kept") << "\",\n  \"cases\": [\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CaseResult& r = results[i];
    out << "    {\"family\": \"" << family_name(r.family) << "\", \"target_nodes\": " << r.target
        << ", \"units\": " << r.units << ", \"text_bytes\": " << r.text_bytes
        << ", \"nodes_in\": " << r.shape.nodes_in << ", \"nodes_stable\": " << r.shape.nodes_stable
        << ", \"wrt\": " << r.shape.wrt << ", \"grad_nodes_raw\": " << r.shape.grad_nodes_raw
        << ", \"grad_nodes_simplified\": " << r.shape.grad_nodes
        << ", \"graph_size\": " << r.shape.graph_size
        << ", \"simplify_passes\": " << r.shape.simplify_stats.passes
        << ", \"simplify_hit_cap\": " << (r.shape.simplify_stats.hit_cap ? "true" : "false")
        << ", \"digest\": \"" << std::hex << r.shape.digest << std::dec << "\""
        << ", \"reps\": " << r.reps;
    if (kThreadSplit)
      out << ", \"user_ms_mean\": " << r.mean_split.user_ms
          << ", \"kernel_ms_mean\": " << r.mean_split.kernel_ms;
    out << ",\n     \"median_ms\": {";
    for (int p = 0; p < kPhases; ++p)
      out << (p ? ", " : "") << "\"" << kPhaseNames[p] << "\": " << r.median_ms[p];
    out << "},\n     \"min_ms\": {";
    for (int p = 0; p < kPhases; ++p)
      out << (p ? ", " : "") << "\"" << kPhaseNames[p] << "\": " << r.min_ms[p];
    out << "},\n     \"round_total_ms\": [";
    for (std::size_t k = 0; k < r.round_total_ms.size(); ++k)
      out << (k ? ", " : "") << r.round_total_ms[k];
    out << "]}" << (i + 1 < results.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out.str();
  if (!file) throw Error(ExitCode::io_error, "cannot write " + path);
}

// A minimize config whose cost is the family's expression of about `target` nodes, its 20
// free scalars turned into parameters: `descent derive FILE` then lowers, stabilizes,
// differentiates, simplifies and prints what the benchmark's phases time in process.
void write_config(const std::string& path, Family family, std::size_t target, std::uint64_t seed) {
  const std::size_t units = calibrate_units(family, target, seed);
  const std::string text = generate_expression(family, units, seed);
  std::ostringstream out;
  out << "# Generated by descent_bench_derive --write-config: family " << family_name(family)
      << ", " << target << " nodes, seed " << seed << ".\n[experiment]\nname = \"derive-"
      << family_name(family) << "-" << target << "\"\n\n[params]\n";
  for (int i = 0; i < 20; ++i) out << "x" << i << " = " << 0.05 * (i + 1) << "\n";
  out << "\n[cost]\nloss = \"" << text
      << "\"\n\n[train]\noptimizer = \"sgd\"\nlr = 0.01\nsteps = 1\n";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out.str();
  if (!file) throw Error(ExitCode::io_error, "cannot write " + path);
}

// ---- flags ----

constexpr const char* kUsage =
    "usage: descent_bench_derive [--json FILE] [--sizes N,N,...] [--families F,F,...]\n"
    "                            [--seed S] [--budget SECONDS] [--min-reps N] [--max-reps N]\n"
    "                            [--digests] [--clock wall|cpu] [--rounds R] [--heap fresh|kept]\n"
    "       descent_bench_derive --write-config FILE --families F --sizes N [--seed S]\n"
    "  families: scalar_mix, polynomial, mlp, random_tree (default: all); sizes default\n"
    "  1000,10000,100000. --digests prints a digest of each case's whole graph (every node, in id\n"
    "  order): equal digests mean node-for-node equal graphs. --clock cpu times the thread's\n"
    "  CPU time instead of wall time (less sensitive to other processes on a shared machine).\n"
    "  --write-config writes a minimize config whose cost is family F's expression of about N\n"
    "  nodes over params x0..x19 (for timing `descent derive FILE`). --rounds R runs a family's\n"
    "  sizes in turn R times, each round a share of the reps, and gives the time per node of each\n"
    "  size against the one before as the median of the rounds' ratios (with their range),\n"
    "  and as the ratio of the fastest reps. --heap fresh (the default, with glibc) has the C\n"
    "  library give the memory it kept back to the system before each rep, so that each rep\n"
    "  pays again for the memory it touches, as a one-shot run does; --heap kept leaves it, so\n"
    "  that a rep may run on memory that the reps before (of any size) left mapped. Ratios of\n"
    "  the two modes do not compare; the per-node ratio of user time alone, printed last, leaves\n"
    "  the kernel's part out in either.\n";

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "descent_bench_derive: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

template <typename T>
T parse_number(const std::string& flag, const std::string& text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    usage_error(flag + " expects a number, got '" + text + "'");
  return value;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

Options parse_flags(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf("%s", kUsage);
      std::exit(0);
    }
    if (flag == "--digests") {
      options.digests = true;
      continue;
    }
    if (i + 1 >= argc) usage_error("unknown flag or missing value: " + flag);
    const std::string value = argv[++i];
    if (flag == "--json") {
      options.json_path = value;
    } else if (flag == "--write-config") {
      options.config_path = value;
    } else if (flag == "--sizes") {
      options.sizes.clear();
      for (const std::string& s : split_commas(value))
        options.sizes.push_back(parse_number<std::size_t>(flag, s));
    } else if (flag == "--families") {
      options.families.clear();
      for (const std::string& name : split_commas(value)) {
        const auto* found = std::find_if(std::begin(kAllFamilies), std::end(kAllFamilies),
                                         [&](Family f) { return family_name(f) == name; });
        if (found == std::end(kAllFamilies)) usage_error("unknown family '" + name + "'");
        options.families.push_back(*found);
      }
    } else if (flag == "--clock") {
      if (value != "wall" && value != "cpu") usage_error("--clock expects wall or cpu");
      g_cpu_clock = value == "cpu";
    } else if (flag == "--heap") {
      if (value != "fresh" && value != "kept") usage_error("--heap expects fresh or kept");
      if (value == "fresh" && !kCanTrim)
        usage_error("--heap fresh needs a C library that gives memory back (glibc)");
      g_fresh_heap = value == "fresh";
    } else if (flag == "--seed") {
      options.seed = parse_number<std::uint64_t>(flag, value);
    } else if (flag == "--budget") {
      options.budget_s = parse_number<double>(flag, value);
    } else if (flag == "--min-reps") {
      options.min_reps = std::max(1, parse_number<int>(flag, value));
    } else if (flag == "--rounds") {
      options.rounds = std::max(1, parse_number<int>(flag, value));
    } else if (flag == "--max-reps") {
      options.max_reps = std::max(1, parse_number<int>(flag, value));
    } else {
      usage_error("unknown flag: " + flag);
    }
  }
  if (options.sizes.empty() || options.families.empty()) usage_error("nothing to run");
  if (!options.config_path.empty() && (options.sizes.size() != 1 || options.families.size() != 1 ||
                                       options.families[0] == Family::mlp))
    usage_error("--write-config needs one scalar family and one size");
  options.max_reps = std::max(options.max_reps, options.min_reps);
  return options;
}

}  // namespace
}  // namespace descent::bench

int main(int argc, char** argv) {
  using namespace descent::bench;
  const Options options = parse_flags(argc, argv);
  if (!options.config_path.empty()) {
    try {
      write_config(options.config_path, options.families[0], options.sizes[0], options.seed);
    } catch (const descent::Error& e) {
      std::fprintf(stderr, "descent_bench_derive: %s\n", e.render().c_str());
      return 1;
    }
    return 0;
  }
  std::printf(
      "descent_bench_derive: seed %llu, budget %.1f s a case, medians over reps, %s time, %s "
      "heap%s\n\n",
      static_cast<unsigned long long>(options.seed), options.budget_s,
      g_cpu_clock ? "thread CPU" : "wall", g_fresh_heap ? "fresh" : "kept",
#ifdef NDEBUG
      ""
#else
      " (ASSERTIONS ON: not a Release build)"
#endif
  );
  print_header();
  std::vector<CaseResult> results;
  try {
    for (Family family : options.families)
      for (CaseResult& c : run_family(family, options)) {
        results.push_back(std::move(c));
        print_row(results.back());
        if (options.digests)
          std::printf("  digest %s %zu: %016llx\n", std::string(family_name(family)).c_str(),
                      results.back().target,
                      static_cast<unsigned long long>(results.back().shape.digest));
      }
    print_scaling(results);
    print_thread_split(results);
    std::printf(
        "\n'passes' is the gradient simplify's pass count; '!' = stopped at the cap of %d.\n",
        descent::kMaxRewritePasses);
    if (!options.json_path.empty()) write_json(options.json_path, options, results);
  } catch (const descent::Error& e) {
    std::fprintf(stderr, "descent_bench_derive: %s\n", e.render().c_str());
    return 1;
  }
  return 0;
}
