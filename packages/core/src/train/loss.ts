import * as tf from '@tensorflow/tfjs';

/**
 * Mean softmax cross-entropy over rows with a valid label; labels of -1 (answers outside the
 * head's vocabulary) contribute zero loss but still count in the mean's denominator.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const oh = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(logits)))).div(logits.shape[0]) as tf.Scalar;
  });
}
