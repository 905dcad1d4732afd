#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Prints scikit-learn's clustering metrics for the fixed inputs of clustering_metrics_test.cc,
whose expected numbers were copied from this output (Debian's python3-sklearn 1.2.1):
/usr/bin/python3 sklearn_values.py"""
import numpy as np
from sklearn import metrics

# Twelve 2-D points in three loose groups; the clustering puts point 8 with the first group.
X = np.array([[0, 0], [1, 0], [0, 1.5], [1, 1],
              [5, 5], [6, 5], [5, 6.5], [7, 7],
              [2, 2], [10, 0], [11, 1], [10, 2]], dtype=np.float64)  # every value is exact in FP32 too
clusters = np.array([0, 0, 0, 0, 2, 2, 2, 2, 0, 1, 1, 1])
classes = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 0])
print("twelve silhouette %.17g" % metrics.silhouette_score(X, clusters))
print("twelve davies_bouldin %.17g" % metrics.davies_bouldin_score(X, clusters))
print("twelve adjusted_rand %.17g" % metrics.adjusted_rand_score(classes, clusters))
print("twelve nmi %.17g" % metrics.normalized_mutual_info_score(classes, clusters))
inertia = sum(((X[clusters == k] - X[clusters == k].mean(axis=0)) ** 2).sum() for k in range(3))
print("twelve centroid inertia %.17g" % inertia)

# A cluster of one point (scores 0) and two duplicated points.
Y = np.array([[0, 0], [0, 0], [3, 4], [1, 1], [4, 4], [4, 5]], dtype=np.float64)  # every value is exact in FP32 too
labels = np.array([0, 0, 1, 2, 2, 2])
print("singleton silhouette %.17g" % metrics.silhouette_score(Y, labels))
print("singleton davies_bouldin %.17g" % metrics.davies_bouldin_score(Y, labels))

# Random labels: 200 rows, 4 classes, 5 clusters.
rng = np.random.default_rng(7)
t = rng.integers(0, 4, size=200)
p = (t + (rng.random(200) < 0.3) * rng.integers(0, 5, size=200)) % 5
print("random contingency", metrics.cluster.contingency_matrix(t, p).tolist())
print("random adjusted_rand %.17g" % metrics.adjusted_rand_score(t, p))
print("random nmi %.17g" % metrics.normalized_mutual_info_score(t, p))
