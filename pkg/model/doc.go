// Package model is verdict's data model: the JSON report (schema_version 1,
// CONTRACT.md), the indicators an alert carries, every provider's normalised
// answer, the risk verdict and the classification. It is a leaf: it imports
// nothing of the project, so every service package (alert loading, intel,
// scoring, classification, reports) can share these types without importing
// each other (trivy's pkg/types, osv-scanner's pkg/models).
package model
