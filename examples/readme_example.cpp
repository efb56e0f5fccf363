// The example from README.md, compiled and run by the test suite so the README cannot go stale.
#include <symgrad/symgrad.hpp>
using namespace symgrad;

int main() {
    auto x = var("x", {256, 64});  // a batch of 256 examples, 64 units
    auto beta = var("beta", {64});  // one trainable beta per unit
    auto y = x * sigmoid(beta * x);  // swish with a learnable beta
    auto [dx, dbeta] = grad(y, {x, beta});  // dbeta has shape [64], like beta
    fmt::print("{}\n", to_string(dbeta));  // sum(x * (t1 * (1 - t1)) * x, axes=[0]) with t1 = sigmoid(beta * x)
}
