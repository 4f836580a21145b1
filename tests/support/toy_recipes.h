#pragma once
// Small recipes registered only in the trainer tests: a GAN-style recipe with two optimizers, a lazy
// regularisation phase (interval > 1) and an EMA, and a one-phase regression; both train on 2-D points.
// Options let tests inject a non-finite loss or a SIGTERM at a given step.
namespace loom::test {

void register_toy_recipes();  // idempotent; registers "toy_gan" and "toy_regression"

}  // namespace loom::test
