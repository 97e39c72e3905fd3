// CartPole-v1's dynamics, exactly as gymnasium computes them: float64 Euler steps with the same
// constants, computed the same way, and the same ending. A test runs this and gymnasium side by
// side from one start state and one action sequence.

const GRAVITY = 9.8;
const MASSCART = 1.0;
const MASSPOLE = 0.1;
const TOTAL_MASS = MASSPOLE + MASSCART;
const LENGTH = 0.5; // half the pole's length
const POLEMASS_LENGTH = MASSPOLE * LENGTH;
const FORCE_MAG = 10.0;
const TAU = 0.02; // seconds per step
export const X_THRESHOLD = 2.4;
export const THETA_THRESHOLD = (12 * 2 * Math.PI) / 360;
export const MAX_STEPS = 500;
export const STEPS_PER_SECOND = 1 / TAU;

// step([x, xDot, theta, thetaDot], action, extraForce = 0) -> the next state. `extraForce` is a
// reader's push on top of the agent's (0 reproduces gymnasium exactly).
export function step(state, action, extraForce = 0) {
  const [x, xDot, theta, thetaDot] = state;
  const force = (action === 1 ? FORCE_MAG : -FORCE_MAG) + extraForce;
  const costheta = Math.cos(theta);
  const sintheta = Math.sin(theta);
  const temp = (force + POLEMASS_LENGTH * (thetaDot * thetaDot) * sintheta) / TOTAL_MASS;
  const thetaacc = (GRAVITY * sintheta - costheta * temp)
    / (LENGTH * (4.0 / 3.0 - (MASSPOLE * (costheta * costheta)) / TOTAL_MASS));
  const xacc = temp - (POLEMASS_LENGTH * thetaacc * costheta) / TOTAL_MASS;
  return [x + TAU * xDot, xDot + TAU * xacc, theta + TAU * thetaDot, thetaDot + TAU * thetaacc];
}

export function ended(state) {
  const [x, , theta] = state;
  return x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
}

// What the agent sees: the state rounded to float32, as gymnasium returns it.
export const observe = (state) => state.map((v) => Math.fround(v));
