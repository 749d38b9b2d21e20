/** One consumer group's lag on one partition (the shape of the transport's `inspectLag`). */
export interface LagSample {
  readonly topic: string;
  readonly group: string;
  readonly partition: number;
  /** Records published and not yet acknowledged by the group. */
  readonly lag: number;
}

/** Where lag comes from: any function (the transport's lag API, or a test's). */
export type LagSource = () => Promise<readonly LagSample[]> | readonly LagSample[];
