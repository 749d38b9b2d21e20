/**
 * Raise once, then stay quiet until the series is clearly back: a flapping series does not
 * spam. Raises after `raiseAfter` consecutive bad checks, clears after `clearAfter`
 * consecutive good ones (the caller decides "good" with a lower threshold than "bad").
 */
export class Hysteresis {
  private bad = 0;
  private good = 0;
  private raised = false;

  private readonly raiseAfter: number;
  private readonly clearAfter: number;

  constructor(raiseAfter: number, clearAfter: number) {
    this.raiseAfter = raiseAfter;
    this.clearAfter = clearAfter;
  }

  get active(): boolean {
    return this.raised;
  }

  /** Feeds one check; true exactly when this check raises the alarm. */
  check(isBad: boolean, isGood: boolean): boolean {
    if (!this.raised) {
      this.bad = isBad ? this.bad + 1 : 0;
      if (this.bad < this.raiseAfter) return false;
      this.raised = true;
      this.bad = 0;
      this.good = 0;
      return true;
    }
    this.good = isGood ? this.good + 1 : 0;
    if (this.good >= this.clearAfter) this.raised = false;
    return false;
  }
}
