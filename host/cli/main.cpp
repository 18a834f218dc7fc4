// descent's command line: the composition root. Placeholder until the commands land.
#include <cstdio>

int main() {
  std::puts("descent " DESCENT_VERSION);
  return 0;
}
